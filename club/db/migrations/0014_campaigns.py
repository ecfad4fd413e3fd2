from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from club.rules.campaigns import CampaignStatus, MassStatus, RecipientState, RunStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0013_segments')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Campaign',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=64)),
                ('segment', fields.ForeignKeyField('models.Segment', source_field='segment_id', db_constraint=True, to_field='id', related_name='campaigns', on_delete=OnDelete.RESTRICT)),
                ('message', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('bonus_points', fields.IntField(default=0)),
                ('budget_points', fields.BigIntField(default=0)),
                ('points_awarded', fields.BigIntField(default=0)),
                ('send_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('daily_at', fields.SmallIntField(null=True)),
                ('pace', fields.IntField(null=True)),
                ('holdout_bp', fields.IntField(default=0)),
                ('seed', fields.BigIntField()),
                ('effect_days', fields.SmallIntField(default=30)),
                ('status', fields.CharEnumField(default=CampaignStatus.DRAFT, description='DRAFT: draft\nSCHEDULED: scheduled\nSENDING: sending\nPAUSED: paused\nDONE: done\nCANCELLED: cancelled', enum_type=CampaignStatus, max_length=16)),
                ('status_reason', fields.CharField(null=True, max_length=255)),
                ('audience_estimate', fields.BigIntField(null=True)),
                ('approved_by', fields.BigIntField(null=True)),
                ('approved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('approved_for', fields.BigIntField(null=True)),
                ('created_by', fields.BigIntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'campaign', 'app': 'models', 'indexes': [Index(fields=['status', 'send_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CampaignEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.CASCADE)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('from_status', fields.CharField(null=True, max_length=16)),
                ('to_status', fields.CharField(max_length=16)),
                ('actor_id', fields.BigIntField(null=True)),
                ('actor_name', fields.CharField(null=True, max_length=64)),
                ('reason', fields.CharField(null=True, max_length=255)),
            ],
            options={'table': 'campaign_event', 'app': 'models', 'indexes': [Index(fields=['campaign_id', 'at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CampaignRun',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='runs', on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField()),
                ('status', fields.CharEnumField(default=RunStatus.SENDING, description='SENDING: sending\nMASS: mass\nDONE: done\nCANCELLED: cancelled', enum_type=RunStatus, max_length=16)),
                ('recipients', fields.IntField(default=0)),
                ('held_out', fields.IntField(default=0)),
                ('chunks', fields.IntField(default=0)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'campaign_run', 'app': 'models', 'unique_together': (('campaign', 'day'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CampaignChunk',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('run', fields.ForeignKeyField('models.CampaignRun', source_field='run_id', db_constraint=True, to_field='id', related_name='chunk_rows', on_delete=OnDelete.CASCADE)),
                ('number', fields.IntField()),
                ('kicked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('beat_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('done_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'campaign_chunk', 'app': 'models', 'unique_together': (('run', 'number'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CampaignRecipient',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='recipient_rows', on_delete=OnDelete.CASCADE)),
                ('run', fields.ForeignKeyField('models.CampaignRun', source_field='run_id', db_constraint=True, to_field='id', related_name='recipient_rows', on_delete=OnDelete.CASCADE)),
                ('member', fields.ForeignKeyField('models.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='campaigns', on_delete=OnDelete.CASCADE)),
                ('openid', fields.CharField(max_length=64)),
                ('holdout', fields.BooleanField(default=False)),
                ('chunk', fields.IntField()),
                ('state', fields.CharEnumField(default=RecipientState.PENDING, description='PENDING: pending\nHOLDOUT: holdout\nMESSAGED: messaged\nSKIPPED: skipped\nMASS: mass\nMASS_SENT: mass_sent', enum_type=RecipientState, max_length=16)),
                ('outbox_id', fields.BigIntField(null=True)),
                ('reason', fields.CharField(null=True, max_length=255)),
                ('points', fields.IntField(default=0)),
            ],
            options={'table': 'campaign_recipient', 'app': 'models', 'unique_together': (('campaign', 'member'),), 'indexes': [Index(fields=['run_id', 'chunk', 'state']), Index(fields=['run_id', 'state', 'id']), Index(fields=['member_id', 'state'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MassSend',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('run', fields.OneToOneField('models.CampaignRun', source_field='run_id', db_constraint=True, to_field='id', related_name='mass_send', on_delete=OnDelete.CASCADE)),
                ('status', fields.CharEnumField(default=MassStatus.TAGGING, description='TAGGING: tagging\nSENT: sent\nFINISHED: finished\nFAILED: failed', enum_type=MassStatus, max_length=16)),
                ('tag_id', fields.IntField(null=True)),
                ('clientmsgid', fields.CharField(unique=True, max_length=64)),
                ('msg_id', fields.BigIntField(null=True)),
                ('msg_data_id', fields.BigIntField(null=True)),
                ('members', fields.IntField(default=0)),
                ('tagged', fields.IntField(default=0)),
                ('tagged_upto', fields.BigIntField(default=0)),
                ('untagged_upto', fields.BigIntField(default=0)),
                ('beat_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('total_count', fields.IntField(null=True)),
                ('filter_count', fields.IntField(null=True)),
                ('sent_count', fields.IntField(null=True)),
                ('error_count', fields.IntField(null=True)),
                ('result', fields.CharField(null=True, max_length=64)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('untagged_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'mass_send', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StaffBindCode',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('staff_id', fields.BigIntField(unique=True)),
                ('code_hash', fields.CharField(unique=True, max_length=64)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'staff_bind_code', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StaffWeChat',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('staff_id', fields.BigIntField(unique=True)),
                ('openid', fields.CharField(max_length=64)),
                ('bound_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'staff_wechat', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TemplateQuotaDay',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('day', fields.DateField(unique=True)),
                ('used', fields.IntField(default=0)),
                ('spent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'template_quota_day', 'app': 'models', 'pk_attr': 'id', 'table_description': "Template messages campaigns took on a day (club time), against the programme's quota."},
            bases=['Model'],
        ),
    ]
