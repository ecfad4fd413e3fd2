from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0029_outbox_maybe_sent')]

    initial = False

    # When an outbox row's first unanswered attempt was made: WeChat's 10 minutes of
    # de-duplication by client_msg_id are counted from it (not from the first attempt, which
    # may have been refused hours before). Nullable, so no default is needed; no backfill:
    # rows marked maybe_sent before it count from their first attempt, as they did.
    operations = [
        ops.AddField(
            model_name='OutboxMessage',
            name='maybe_sent_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
