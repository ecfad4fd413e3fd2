from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0028_mass_retry')]

    initial = False

    # An outbox row remembers that an attempt went unanswered (it may have reached WeChat): once
    # its attempts are over it ends outcome unknown, not failed. No backfill: rows already there
    # read as before (never known unanswered); the default is in the database too, since a NOT
    # NULL column added to a table with rows needs one.
    operations = [
        ops.AddField(
            model_name='OutboxMessage',
            name='maybe_sent',
            field=fields.BooleanField(default=False, db_default=False),
        ),
    ]
