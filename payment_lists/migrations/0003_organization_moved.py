"""A list's organization is now organizations.Organization (organizations/0001): the same
table, so the column and its foreign key stay as they are (state only)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("payment_lists", "0002_runs_leases_and_totals_per_currency"),
        ("organizations", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="paymentlist",
                    name="organization",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="lists", to="organizations.organization"),
                ),
            ],
            database_operations=[],
        ),
    ]
