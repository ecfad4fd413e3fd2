from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0015_purchase_channel_level')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MemberValue',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member_id', fields.BigIntField(unique=True)),
                ('day', fields.DateField()),
                ('last_purchase_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('recency_days', fields.IntField()),
                ('frequency', fields.IntField()),
                ('monetary_fen', fields.BigIntField()),
                ('profit_fen', fields.BigIntField(null=True)),
                ('missing_cost_purchases', fields.IntField()),
                ('r_score', fields.SmallIntField()),
                ('f_score', fields.SmallIntField()),
                ('m_score', fields.SmallIntField()),
                ('value_class', fields.CharField(db_index=True, max_length=1)),
                ('recent_fen', fields.BigIntField()),
                ('prior_fen', fields.BigIntField()),
                ('potential', fields.CharField(null=True, max_length=16)),
                ('quadrant', fields.CharField(db_index=True, max_length=16)),
            ],
            options={'table': 'member_value', 'app': 'models', 'pk_attr': 'id', 'table_description': 'What a member is worth as of `day`: RFM scores, value class, value x potential.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ValueClassChange',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member_id', fields.BigIntField()),
                ('day', fields.DateField()),
                ('from_class', fields.CharField(null=True, max_length=1)),
                ('to_class', fields.CharField(max_length=1)),
            ],
            options={'table': 'value_class_change', 'app': 'models', 'unique_together': (('member_id', 'day'),), 'indexes': [Index(fields=['day'])], 'pk_attr': 'id', 'table_description': "A member's value class changed on `day` (from None: valued for the first time)."},
            bases=['Model'],
        ),
    ]
