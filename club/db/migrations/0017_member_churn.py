from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0016_member_value')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MemberChurn',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member_id', fields.BigIntField(unique=True)),
                ('day', fields.DateField()),
                ('since', fields.DateField()),
                ('purchases', fields.IntField()),
                ('rhythm_days', fields.IntField(null=True)),
                ('silence_days', fields.IntField()),
                ('spend_fen', fields.BigIntField()),
                ('spend_before_fen', fields.BigIntField()),
                ('silent', fields.BooleanField()),
                ('spend_fell', fields.BooleanField()),
                ('reason_zh', fields.CharField(max_length=255)),
                ('reason_en', fields.CharField(max_length=255)),
            ],
            options={'table': 'member_churn', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A member flagged by the daily churn-scan as likely to leave, with why in words.'},
            bases=['Model'],
        ),
    ]
