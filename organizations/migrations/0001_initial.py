"""Organization moves here from the payments app, with its data and its members.

State only: the tables stay where payments/0001 created them (payments_organization and
payments_organization_members, named from Meta.db_table), so no row is copied or lost. The
foreign keys that point to it follow in accounts/0006, payment_lists/0003 and payments/0005,
which also removes the model from the payments app's state. The content type is renamed, so
the Finance group's permissions and the admin's history stay attached to the same rows.
"""

from django.conf import settings
from django.db import migrations, models

MODELS = ["organization"]


def _move_content_types(apps, schema_editor, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    types = ContentType.objects.using(schema_editor.connection.alias)
    for model in MODELS:
        if not types.filter(app_label=new, model=model).exists():
            types.filter(app_label=old, model=model).update(app_label=new)


def content_types_forward(apps, schema_editor):
    _move_content_types(apps, schema_editor, "payments", "organizations")


def content_types_backward(apps, schema_editor):
    _move_content_types(apps, schema_editor, "organizations", "payments")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("payments", "0004_subscription_limits_per_currency"),
        ("contenttypes", "0002_remove_content_type_name"),
        # Its groups migration creates the content type this one renames.
        ("accounts", "0005_canonical_email_codes_scopes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Organization",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(max_length=120, unique=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("members", models.ManyToManyField(blank=True, help_text="Finance staff allowed to act for this organization.", related_name="organizations", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={"db_table": "payments_organization", "ordering": ["name"]},
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_forward, content_types_backward),
    ]
