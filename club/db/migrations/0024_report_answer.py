from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0023_member_language')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ReportAnswer',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=16)),
                ('params', fields.CharField(max_length=128)),
                ('as_of', fields.DateField()),
                ('computed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('body', fields.TextField(unique=False)),
            ],
            options={'table': 'report_answer', 'app': 'models', 'unique_together': (('name', 'params'),), 'pk_attr': 'id', 'table_description': "A report's default answer, computed after the daily value-refresh and churn-scan"},
            bases=['Model'],
        ),
    ]
