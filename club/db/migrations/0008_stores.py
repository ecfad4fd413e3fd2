from tortoise import migrations
from tortoise.migrations import operations as ops
from club.rules.channels import ChannelLevel, StoreStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0007_console_read_indexes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='StoreLevelChange',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('models.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='level_changes', on_delete=OnDelete.CASCADE)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('from_level', fields.CharEnumField(null=True, description='DEALER: dealer\nWHOLESALER: wholesaler\nKEY_ACCOUNT: key_account\nSMALL_SHOP: small_shop\nONLINE: online\nCONSUMER: consumer', enum_type=ChannelLevel, max_length=16)),
                ('to_level', fields.CharEnumField(description='DEALER: dealer\nWHOLESALER: wholesaler\nKEY_ACCOUNT: key_account\nSMALL_SHOP: small_shop\nONLINE: online\nCONSUMER: consumer', enum_type=ChannelLevel, max_length=16)),
                ('actor_id', fields.BigIntField(null=True)),
                ('actor_name', fields.CharField(null=True, max_length=64)),
            ],
            options={'table': 'store_level_change', 'app': 'models', 'indexes': [Index(fields=['store_id', 'at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='StaffUser',
            name='qr_ticket',
            field=fields.CharField(null=True, max_length=255),
        ),
        ops.AddField(
            model_name='StaffUser',
            name='qr_url',
            field=fields.CharField(null=True, max_length=255),
        ),
        ops.AddField(
            model_name='Store',
            name='closed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Store',
            name='created_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Store',
            name='qr_ticket',
            field=fields.CharField(null=True, max_length=255),
        ),
        ops.AddField(
            model_name='Store',
            name='qr_url',
            field=fields.CharField(null=True, max_length=255),
        ),
        ops.AddField(
            model_name='Store',
            name='status',
            field=fields.CharEnumField(default=StoreStatus.OPEN, description='OPEN: open\nCLOSED: closed', enum_type=StoreStatus, max_length=16),
        ),
    ]
