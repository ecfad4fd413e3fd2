from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0021_service')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CustomerValue',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('day', fields.DateField()),
                ('start_day', fields.DateField()),
                ('end_day', fields.DateField()),
                ('level', fields.CharField(max_length=16)),
                ('kind', fields.CharField(max_length=16)),
                ('member_id', fields.BigIntField(null=True)),
                ('store_id', fields.CharField(null=True, max_length=32)),
                ('account_id', fields.BigIntField(null=True)),
                ('ref', fields.CharField(max_length=64)),
                ('purchases', fields.BigIntField()),
                ('sales', fields.BigIntField()),
                ('profit', fields.BigIntField(null=True)),
                ('missing_n', fields.BigIntField()),
                ('missing_fen', fields.BigIntField()),
                ('late', fields.BigIntField()),
                ('early', fields.BigIntField()),
                ('sales_rank', fields.BigIntField()),
                ('sales_before', fields.BigIntField()),
                ('level_sales', fields.BigIntField()),
                ('profit_rank', fields.BigIntField()),
                ('profit_before', fields.BigIntField()),
                ('level_profit', fields.BigIntField(null=True)),
                ('level_customers', fields.BigIntField()),
            ],
            options={'table': 'customer_value', 'app': 'models', 'indexes': [Index(fields=['level', 'sales_rank']), Index(fields=['member_id'])], 'pk_attr': 'id', 'table_description': "The value-refresh's ranking of every level's customers over the default report period"},
            bases=['Model'],
        ),
        ops.AddIndex(
            model_name='Purchase',
            index=Index(fields=['created_at']),
        ),
    ]
