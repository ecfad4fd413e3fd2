from tortoise import migrations
from tortoise.migrations import operations as ops
from club.rules.channels import ChannelLevel
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0014_campaigns')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Purchase',
            name='channel_level',
            field=fields.CharEnumField(null=True, description='DEALER: dealer\nWHOLESALER: wholesaler\nKEY_ACCOUNT: key_account\nSMALL_SHOP: small_shop\nONLINE: online\nCONSUMER: consumer', enum_type=ChannelLevel, max_length=16),
        ),
        # Purchases recorded before the snapshot existed take the level their store had on the
        # day of the sale (the store's level history), else the store's level of today.
        ops.RunSQL(
            'UPDATE "purchase" SET "channel_level" = COALESCE('
            '(SELECT c."to_level" FROM "store_level_change" c WHERE c."store_id" ='
            ' "purchase"."store_id" AND c."at" <= "purchase"."created_at"'
            ' ORDER BY c."at" DESC, c."id" DESC LIMIT 1),'
            ' (SELECT "store"."channel_level" FROM "store" WHERE "store"."id" ='
            ' "purchase"."store_id")) WHERE "store_id" IS NOT NULL',
            reverse_sql=ops.RunSQL.noop,
        ),
    ]
