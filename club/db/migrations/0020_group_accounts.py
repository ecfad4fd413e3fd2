from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0019_member_source_at')]

    initial = False

    operations = [
        ops.CreateModel(
            name='GroupAccount',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=128)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_by', fields.BigIntField(null=True)),
            ],
            options={'table': 'group_account', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='GroupAccountContact',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.GroupAccount', source_field='account_id', db_constraint=True, to_field='id', related_name='contacts', on_delete=OnDelete.CASCADE)),
                ('member_id', fields.BigIntField(unique=True)),
                ('added_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'group_account_contact', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A member who buys for the account (a member is a contact of one account at most).'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Purchase',
            name='account_id',
            field=fields.BigIntField(null=True, db_index=True),
        ),
    ]
