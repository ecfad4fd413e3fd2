from tortoise import migrations
from tortoise.migrations import operations as ops
from club.db.models.service import ContactChannel, TicketStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0020_group_accounts')]

    initial = False

    operations = [
        ops.CreateModel(
            name='RelationshipManager',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member_id', fields.BigIntField(unique=True)),
                ('staff_id', fields.BigIntField(db_index=True)),
                ('assigned_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('assigned_by', fields.BigIntField()),
            ],
            options={'table': 'relationship_manager', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StaffContact',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member_id', fields.BigIntField()),
                ('staff_id', fields.BigIntField()),
                ('channel', fields.CharEnumField(description='PHONE: phone\nVISIT: visit\nWECHAT: wechat\nTICKET: ticket', enum_type=ContactChannel, max_length=16)),
                ('note', fields.CharField(default='', max_length=255)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'staff_contact', 'app': 'models', 'indexes': [Index(fields=['member_id', 'at'])], 'pk_attr': 'id', 'table_description': "A member of staff reached a customer (the manager's 'nobody contacted for N days')."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Ticket',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member_id', fields.BigIntField(db_index=True)),
                ('status', fields.CharEnumField(default=TicketStatus.OPEN, description='OPEN: open\nCLOSED: closed', enum_type=TicketStatus, max_length=16)),
                ('opened_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_member_message_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('answered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closed_by', fields.BigIntField(null=True)),
            ],
            options={'table': 'ticket', 'app': 'models', 'indexes': [Index(fields=['status', 'opened_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TicketMessage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ticket', fields.ForeignKeyField('models.Ticket', source_field='ticket_id', db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.CASCADE)),
                ('staff_id', fields.BigIntField(null=True)),
                ('text', fields.CharField(max_length=2000)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'ticket_message', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Member',
            name='open_ticket_id',
            field=fields.BigIntField(null=True),
        ),
    ]
