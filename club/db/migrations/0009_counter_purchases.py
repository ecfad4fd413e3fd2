from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from club.db.models.counter import PendingStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0008_stores')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PendingPurchase',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('order_id', fields.CharField(unique=True, max_length=64)),
                ('phone', fields.CharField(db_index=True, max_length=16)),
                ('amount_fen', fields.BigIntField()),
                ('cost_fen', fields.BigIntField(null=True)),
                ('store', fields.ForeignKeyField('models.Store', source_field='store_id', null=True, db_constraint=True, to_field='id', related_name='pending_purchases', on_delete=OnDelete.SET_NULL)),
                ('items', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('actor_id', fields.BigIntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('status', fields.CharEnumField(default=PendingStatus.PENDING, description='PENDING: pending\nCREDITED: credited\nCONFLICT: conflict\nLAPSED: lapsed', enum_type=PendingStatus, max_length=16)),
                ('member', fields.ForeignKeyField('models.Member', source_field='member_id', null=True, db_constraint=True, to_field='id', related_name='pending_purchases', on_delete=OnDelete.SET_NULL)),
                ('credited_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('points_credited', fields.BigIntField(null=True)),
            ],
            options={'table': 'pending_purchase', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddIndex(
            model_name='Member',
            index=Index(fields=['phone']),
        ),
    ]
