from tortoise import migrations
from tortoise.migrations import operations as ops
from club.rules.campaigns import MassStatus, RecipientState
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0027_ranking_ahead')]

    initial = False

    # A mass send WeChat did not answer is sent again (attempts, retry_at, maybe_sent) and,
    # unanswered every time, ends `unknown` with its members `mass_unknown`. No backfill: the
    # defaults say what the rows already there are (never retried), in the database too: a
    # NOT NULL column added to a table with rows needs one.
    operations = [
        ops.AlterField(
            model_name='CampaignRecipient',
            name='state',
            field=fields.CharEnumField(default=RecipientState.PENDING, description='PENDING: pending\nHOLDOUT: holdout\nMESSAGED: messaged\nSKIPPED: skipped\nMASS: mass\nMASS_SENT: mass_sent\nMASS_UNKNOWN: mass_unknown', enum_type=RecipientState, max_length=16),
        ),
        ops.AlterField(
            model_name='MassSend',
            name='status',
            field=fields.CharEnumField(default=MassStatus.TAGGING, description='TAGGING: tagging\nSENT: sent\nFINISHED: finished\nFAILED: failed\nUNKNOWN: unknown', enum_type=MassStatus, max_length=16),
        ),
        ops.AddField(
            model_name='MassSend',
            name='attempts',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='MassSend',
            name='maybe_sent',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='MassSend',
            name='retry_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
