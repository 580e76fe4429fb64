from django.core.management import call_command
from django.db import migrations


def create_cache_tables(apps, schema_editor):
    """Create the table of a database cache (a stage's throttle counters); no-op otherwise."""
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [migrations.RunPython(create_cache_tables, migrations.RunPython.noop)]
