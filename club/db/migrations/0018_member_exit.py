from tortoise import migrations
from tortoise.migrations import operations as ops
from club.db.models.value import ExitKind
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0017_member_churn')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MemberExit',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member_id', fields.BigIntField(db_index=True)),
                ('kind', fields.CharEnumField(description='UNFOLLOW: unfollow\nDORMANT: dormant', enum_type=ExitKind, max_length=16)),
                ('at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('last_active_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('tier', fields.CharField(null=True, max_length=32)),
                ('value_class', fields.CharField(null=True, max_length=1)),
                ('tenure_days', fields.IntField()),
                ('joined', fields.BooleanField()),
                ('source_kind', fields.CharField(null=True, max_length=16)),
                ('source_ref', fields.CharField(null=True, max_length=64)),
                ('origin_level', fields.CharField(null=True, max_length=16)),
                ('last_purchase_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_message_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_failed_code_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_cancelled_redemption_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_complaint_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'member_exit', 'app': 'models', 'unique_together': (('member_id', 'kind', 'last_active_at'),), 'pk_attr': 'id', 'table_description': 'A member leaving (unfollowing) or going dormant, with what is known about them then.'},
            bases=['Model'],
        ),
    ]
