from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


# Reservations still to settle: a partial index, so that the scheduler's tick finds a campaign's
# reserved recipients whose message came to rest among the few reserved, not among all its
# recipients (tortoise's models cannot declare a partial index; both databases take this one).
async def reserved_index(apps, schema_editor):
    await schema_editor.client.execute_script(
        "CREATE INDEX IF NOT EXISTS campaign_recipient_reserved"
        " ON campaign_recipient (campaign_id, state, id) WHERE bonus_reserved > 0"
    )


async def drop_reserved_index(apps, schema_editor):
    await schema_editor.client.execute_script("DROP INDEX IF EXISTS campaign_recipient_reserved")


class Migration(migrations.Migration):
    dependencies = [('models', '0030_outbox_maybe_sent_at')]

    initial = False

    # A campaign's bonus is reserved from its budget when a member is planned and credited only
    # once the member's message has gone (or may have), given back when it never goes
    # (club/campaigns/bonus.py). No backfill: the rows already there were credited at fan-out
    # (their `points`), so nothing of theirs is reserved, as the database defaults say.
    operations = [
        ops.AddField(
            model_name='Campaign',
            name='points_reserved',
            field=fields.BigIntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='CampaignRecipient',
            name='bonus_reserved',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.RunPython(reserved_index, drop_reserved_index),
    ]
