from tortoise import migrations
from tortoise.migrations import operations as ops
from club.db.models.jobs import RunStarter
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0031_campaign_bonus_reserved')]

    initial = False

    # What started a job run's last attempt: the scheduler at the job's time, its start-up
    # catch-up, or a run by hand (`python -m scheduler run`), so that the jobs page tells a day
    # done on time from one made up later. Nullable, no backfill: who started the runs already
    # recorded is not known, and the page says so ("not recorded").
    operations = [
        ops.AddField(
            model_name='JobRun',
            name='started_by',
            field=fields.CharEnumField(null=True, description='SCHEDULE: schedule\nCATCH_UP: catch_up\nHAND: hand', enum_type=RunStarter, max_length=16),
        ),
    ]
