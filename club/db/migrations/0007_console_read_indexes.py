from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index


# The console's member search by a phone's last four digits: an expression index, which
# tortoise's models cannot declare (each database spells "last four characters" its own way).
async def phone_last_four_index(apps, schema_editor):
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        expression = "right(phone, 4)"
    else:
        expression = "substr(phone, -4)"
    await client.execute_script(
        f"CREATE INDEX IF NOT EXISTS member_phone_last4 ON member ({expression})"
    )


async def drop_phone_last_four_index(apps, schema_editor):
    await schema_editor.client.execute_script("DROP INDEX IF EXISTS member_phone_last4")


class Migration(migrations.Migration):
    dependencies = [('models', '0006_staff_console_password')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='FollowEvent',
            index=Index(fields=['kind', 'at']),
        ),
        ops.AddIndex(
            model_name='LedgerEntry',
            index=Index(fields=['created_at', 'kind', 'points']),
        ),
        ops.AddIndex(
            model_name='Member',
            index=Index(fields=['joined_at']),
        ),
        ops.AddIndex(
            model_name='Member',
            index=Index(fields=['status', 'tier', 'joined_at']),
        ),
        ops.AddIndex(
            model_name='OutboxMessage',
            index=Index(fields=['created_at', 'channel']),
        ),
        ops.RunPython(phone_last_four_index, drop_phone_last_four_index),
    ]
