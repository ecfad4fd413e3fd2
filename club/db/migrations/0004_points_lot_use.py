from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0003_failed_code_attempt')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PointsLotUse',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('entry', fields.ForeignKeyField('models.LedgerEntry', source_field='entry_id', db_constraint=True, to_field='id', related_name='lot_uses', on_delete=OnDelete.CASCADE)),
                ('lot', fields.ForeignKeyField('models.PointsLot', source_field='lot_id', db_constraint=True, to_field='id', related_name='uses', on_delete=OnDelete.CASCADE)),
                ('points', fields.BigIntField()),
            ],
            options={'table': 'points_lot_use', 'app': 'models', 'unique_together': (('entry', 'lot'),), 'pk_attr': 'id', 'table_description': 'Points one ledger movement took from one lot, or gave back to it (negative).'},
            bases=['Model'],
        ),
    ]
