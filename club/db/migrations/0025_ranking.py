from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0024_report_answer')]

    initial = False

    # The one snapshot kept so far becomes a ranking without its period: it is dropped, and the
    # next value-refresh (or the first report) ranks again.
    operations = [
        ops.RunSQL('DELETE FROM "customer_value"', reverse_sql=ops.RunSQL.noop),
        ops.CreateModel(
            name='Ranking',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('start_day', fields.DateField()),
                ('end_day', fields.DateField()),
                ('rules', fields.CharField(max_length=16)),
                ('as_of', fields.DateField()),
                ('snapshot', fields.BooleanField(default=False)),
                ('computed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('read_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('customers', fields.BigIntField(default=0)),
            ],
            options={'table': 'ranking', 'app': 'models', 'unique_together': (('start_day', 'end_day', 'rules', 'as_of', 'snapshot'),), 'pk_attr': 'id', 'table_description': "One period's ranking of every level's customers by sales and by profit, as computed on"},
            bases=['Model'],
        ),
        ops.RemoveIndex(
            model_name='CustomerValue',
            name=None,
            fields=['level', 'sales_rank'],
        ),
        ops.RemoveIndex(
            model_name='CustomerValue',
            name=None,
            fields=['member_id'],
        ),
        ops.AlterModelOptions(
            name='CustomerValue',
            options={'table': 'customer_value', 'app': 'models', 'indexes': [Index(fields=['ranking_id', 'level', 'sales_rank'])], 'pk_attr': 'id', 'table_description': 'A customer of a level in a ranking (`Ranking`): what it bought in the period and its'},
        ),
        ops.AddField(
            model_name='CustomerValue',
            name='ranking_id',
            field=fields.BigIntField(),
        ),
        ops.RemoveField(model_name='CustomerValue', name='day'),
        ops.RemoveField(model_name='CustomerValue', name='end_day'),
        ops.RemoveField(model_name='CustomerValue', name='start_day'),
        ops.AddIndex(
            model_name='CustomerValue',
            index=Index(fields=['ranking_id', 'level', 'sales_rank']),
        ),
    ]
