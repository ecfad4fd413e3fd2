from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0004_points_lot_use')]

    initial = False

    operations = [
        ops.AddField(
            model_name='OutboxMessage',
            name='first_attempt_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='outcome',
            field=fields.CharField(null=True, max_length=24),
        ),
    ]
