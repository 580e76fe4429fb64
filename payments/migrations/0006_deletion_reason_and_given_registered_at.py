"""Why a payment was deleted (a waived fee, or empty), and a registered_at the registering
change may give (a fare: its ride's completed_at) instead of auto_now_add's own reading.
The reason has the database default '' as well: payment lists insert payments in SQL.

The second is state only: auto_now_add and default=timezone.now are both Python-side, the
column stays as it is (no rebuild of the payments table on SQLite)."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0005_organization_moved_out"),
    ]

    operations = [
        migrations.AddField(
            model_name="payment",
            name="deletion_reason",
            field=models.CharField(blank=True, choices=[("fee_waived", "fee waived")], db_default="", default="", help_text="Why it was deleted, if not simply taken back: fee waived, an operator forgave the ride's fee (the rider owes nothing for it).", max_length=20),  # fmt: skip
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="payment",
                    name="registered_at",
                    field=models.DateTimeField(db_index=True, default=django.utils.timezone.now, editable=False),  # fmt: skip
                ),
            ],
        ),
    ]
