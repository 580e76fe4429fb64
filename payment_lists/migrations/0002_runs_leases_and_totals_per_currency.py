"""Runs that own a list (token, lease, steps done), S3 repeats recognised, and totals per
currency instead of one sum of every currency.

Data: each list's totals are worked out again per currency from its payments (imported)
or its staged rows; a row total of 0 on a list not yet validated becomes unknown (NULL).
"""

from django.db import migrations, models
from django.db.models import Sum

NOT_VALIDATED = ["received", "validating"]


def totals_per_currency(apps, schema_editor):
    PaymentList = apps.get_model("payment_lists", "PaymentList")
    PaymentListRow = apps.get_model("payment_lists", "PaymentListRow")
    Payment = apps.get_model("payments", "Payment")
    for payment_list in PaymentList.objects.all().iterator(chunk_size=500):
        rows = Payment.objects.filter(payment_list_id=payment_list.pk)
        if not rows.exists():
            rows = PaymentListRow.objects.filter(payment_list_id=payment_list.pk)
        sums = rows.order_by().values("currency").annotate(minor=Sum("amount_minor"))
        payment_list.totals = {row["currency"]: row["minor"] for row in sums}
        if payment_list.rows_total == 0 and payment_list.status in NOT_VALIDATED:
            payment_list.rows_total = None
        payment_list.save(update_fields=["totals", "rows_total"])


class Migration(migrations.Migration):
    dependencies = [
        ("payment_lists", "0001_initial"),
        ("payments", "0003_payment_lists_moved_out"),
    ]

    operations = [
        migrations.AddField(
            model_name="paymentlist",
            name="inbox_sequencer",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="paymentlist",
            name="lease_until",
            field=models.DateTimeField(blank=True, db_index=True, null=True),
        ),
        migrations.AddField(
            model_name="paymentlist",
            name="run_token",
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AddField(
            model_name="paymentlist",
            name="step_done",
            field=models.CharField(blank=True, help_text="Last step finished.", max_length=40),
        ),
        migrations.AddField(
            model_name="paymentlist",
            name="takeovers",
            field=models.PositiveSmallIntegerField(
                default=0, help_text="Times the recovery pass took over a run that had died."
            ),
        ),
        migrations.AddField(
            model_name="paymentlist",
            name="totals",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="{currency: amount in minor units}: never summed.",
            ),
        ),
        migrations.AlterField(
            model_name="paymentlist",
            name="rows_total",
            field=models.PositiveIntegerField(
                blank=True, help_text="Known once the whole file has been read.", null=True
            ),
        ),
        migrations.AlterField(
            model_name="paymentlist",
            name="status",
            field=models.CharField(
                choices=[
                    ("received", "waiting to start"),
                    ("validating", "checking the file"),
                    ("verifying", "checking the subscription"),
                    ("importing", "importing"),
                    ("imported", "imported"),
                    ("failed", "failed"),
                ],
                db_index=True,
                default="received",
                max_length=10,
            ),
        ),
        migrations.RunPython(totals_per_currency, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="paymentlist",
            name="total_minor",
        ),
        migrations.AddConstraint(
            model_name="paymentlist",
            constraint=models.UniqueConstraint(
                condition=models.Q(("file", ""), _negated=True),
                fields=("file", "inbox_sequencer"),
                name="one_list_per_inbox_object",
            ),
        ),
    ]
