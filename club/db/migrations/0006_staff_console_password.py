from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_outbox_outcome')]

    initial = False

    operations = [
        ops.AddField(
            model_name='StaffUser',
            name='failed_sign_ins',
            field=fields.SmallIntField(default=0),
        ),
        ops.AddField(
            model_name='StaffUser',
            name='locked_until',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='StaffUser',
            name='password_changed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='StaffUser',
            name='password_hash',
            field=fields.CharField(null=True, max_length=255),
        ),
    ]
