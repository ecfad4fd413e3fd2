from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0018_member_exit')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Member',
            name='source_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        # Members brought by a QR code before this column: the time of their first follow.
        ops.RunSQL(
            'UPDATE "member" SET "source_at" = (SELECT MIN("follow_event"."at") FROM'
            ' "follow_event" WHERE "follow_event"."member_id" = "member"."id" AND'
            " \"follow_event\".\"kind\" = 'subscribe') WHERE \"source_kind\" IS NOT NULL",
            reverse_sql=ops.RunSQL.noop,
        ),
    ]
