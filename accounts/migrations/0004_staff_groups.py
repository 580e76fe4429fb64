"""The staff groups (Operators, Finance) with their permissions, from accounts.roles.

Permissions are normally created by a post_migrate handler, after every migration has run;
this migration creates them first (for every app, in the historical state it runs in) so the
groups get their permissions on a fresh database too. accounts.roles.GROUP_PERMISSIONS stays
the single source: the post_migrate sync keeps the groups in step with later models.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from accounts.roles import GROUP_PERMISSIONS, sync_group_permissions


def create_all_permissions(apps, using):
    for app_config in apps.get_app_configs():
        # Historical app configs have no models module; create_permissions wants one.
        previous = getattr(app_config, "models_module", None)
        app_config.models_module = True
        try:
            create_permissions(app_config, verbosity=0, apps=apps, using=using)
        finally:
            app_config.models_module = previous


def create_groups(apps, schema_editor):
    using = schema_editor.connection.alias
    create_all_permissions(apps, using)
    sync_group_permissions(apps=apps, using=using)


def remove_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(
        name__in=list(GROUP_PERMISSIONS)
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_servicekey_organization"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("bi", "0001_initial"),
        ("events", "0001_initial"),
        ("payments", "0002_payment_lists"),
        ("promos", "0001_initial"),
        ("rides", "0002_ride_discount_campaign"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
