from tortoise import migrations
from tortoise.migrations import operations as ops
from club.rules.channels import ChannelLevel
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0004_points_lot_use')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Purchase',
            name='channel_level',
            field=fields.CharEnumField(null=True, description='DEALER: dealer\nWHOLESALER: wholesaler\nKEY_ACCOUNT: key_account\nSMALL_SHOP: small_shop\nONLINE: online\nCONSUMER: consumer', enum_type=ChannelLevel, max_length=16),
        ),
        # Purchases recorded before the snapshot existed take their store's level of today: the
        # best that is known about them.
        ops.RunSQL(
            'UPDATE "purchase" SET "channel_level" = (SELECT "store"."channel_level" FROM "store"'
            ' WHERE "store"."id" = "purchase"."store_id") WHERE "store_id" IS NOT NULL',
            reverse_sql=ops.RunSQL.noop,
        ),
    ]
