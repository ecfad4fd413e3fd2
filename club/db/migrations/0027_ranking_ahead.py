from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0026_run_progress')]

    initial = False

    # Rankings made ahead by the nightly rank-ahead job, kept all day besides the asked ones.
    operations = [
        ops.AddField(
            model_name='Ranking',
            name='ahead',
            field=fields.BooleanField(default=False, db_default=False),
        ),
    ]
