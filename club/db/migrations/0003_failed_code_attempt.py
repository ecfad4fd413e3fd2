from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0002_reward_ref')]

    initial = False

    operations = [
        ops.CreateModel(
            name='FailedCodeAttempt',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('models.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='failed_code_attempts', on_delete=OnDelete.CASCADE)),
                ('at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('outcome', fields.CharField(max_length=16)),
            ],
            options={'table': 'failed_code_attempt', 'app': 'models', 'indexes': [Index(fields=['member_id', 'at'])], 'pk_attr': 'id', 'table_description': "A code a member sent that earned nothing: never issued, mistyped, or someone else's."},
            bases=['Model'],
        ),
    ]
