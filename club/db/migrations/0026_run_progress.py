from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0025_ranking')]

    initial = False

    # A finished run's progress, stored once its recipients are all at rest (no backfill: the
    # first read of each finished run counts and stores it).
    operations = [
        ops.AddField(
            model_name='CampaignRun',
            name='progress',
            field=fields.JSONField(null=True),
        ),
    ]
