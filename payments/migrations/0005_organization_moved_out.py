"""Organization moved to the organizations app (its migration 0001), data kept.

State only: payments and subscriptions point to organizations.Organization, whose table is
still payments_organization, so the columns and their foreign keys stay as they are; the
model leaves this app's state once nothing points to it here (accounts/0006,
payment_lists/0003 move their foreign keys first).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0004_subscription_limits_per_currency"),
        ("organizations", "0001_initial"),
        ("accounts", "0006_servicekey_organization_moved"),
        ("payment_lists", "0003_organization_moved"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="payment",
                    name="organization",
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="payments", to="organizations.organization"),
                ),
                migrations.AlterField(
                    model_name="subscription",
                    name="organization",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="subscriptions", to="organizations.organization"),
                ),
                migrations.DeleteModel(name="Organization"),
            ],
            database_operations=[],
        ),
    ]
