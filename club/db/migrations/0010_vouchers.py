from tortoise import migrations
from tortoise.migrations import operations as ops
from club.db.models.catalog import RedemptionStatus
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0009_counter_purchases')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Redemption',
            name='status',
            field=fields.CharEnumField(default=RedemptionStatus.ACTIVE, description='ACTIVE: active\nCANCELLED: cancelled\nUSED: used\nEXPIRED: expired', enum_type=RedemptionStatus, max_length=16),
        ),
        ops.AddField(
            model_name='Redemption',
            name='cancelled_by',
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name='Redemption',
            name='expired_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Redemption',
            name='expires_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Redemption',
            name='used_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Redemption',
            name='used_by',
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name='Redemption',
            name='used_store_id',
            field=fields.CharField(null=True, max_length=32),
        ),
        ops.AddIndex(
            model_name='Redemption',
            index=Index(fields=['status', 'expires_at']),
        ),
    ]
