"""A service key's organization is now organizations.Organization (organizations/0001):
the same table, so the column and its foreign key stay as they are (state only)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_canonical_email_codes_scopes"),
        ("organizations", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="servicekey",
                    name="organization",
                    field=models.ForeignKey(blank=True, help_text="The organization this key acts for (payments, payment lists).", null=True, on_delete=django.db.models.deletion.PROTECT, related_name="service_keys", to="organizations.organization"),
                ),
            ],
            database_operations=[],
        ),
    ]
