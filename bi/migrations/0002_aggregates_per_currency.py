"""BI aggregates per currency: a day has one row per currency; campaign spend too.

Until now a day's money columns added every currency together and were shown in the fare
currency. The new table (one row per day and currency) replaces the old one under the same
name. Its rows are rebuilt as follows, so no sum across currencies survives:
- rides (count, fares, discounts): copied from the old rows, in the fare currency, the only
  one rides are charged in (FARE_CURRENCY);
- payments (counts and amounts registered, verified, deleted per day): recounted from the
  payments themselves, per currency, by the day of each change (in TIME_ZONE), which is
  what the subscriber folds from their events.
Campaign spend gets a currency: the fare currency for the rows already there.
"""

import zoneinfo

from django.conf import settings
from django.db import migrations, models
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate

import bi.models

PAYMENT_CHANGES = {
    "registered": "registered_at",
    "verified": "verified_at",
    "deleted": "deleted_at",
}


def rebuild_per_currency(apps, schema_editor):
    Old = apps.get_model("bi", "DailyAggregate")
    New = apps.get_model("bi", "DailyAggregateByCurrency")
    Payment = apps.get_model("payments", "Payment")
    rows: dict = {}

    def row(day, currency):
        return rows.setdefault((day, currency), New(day=day, currency=currency))

    for old in Old.objects.all():
        new = row(old.day, settings.FARE_CURRENCY)
        new.rides_completed = old.rides_completed
        new.revenue_minor, new.discounts_minor = old.revenue_minor, old.discounts_minor
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    for status, moment in PAYMENT_CHANGES.items():
        per_day = (
            Payment.objects.filter(**{f"{moment}__isnull": False})
            .annotate(day=TruncDate(moment, tzinfo=zone))
            .values("day", "currency")
            .annotate(count=Count("pk"), minor=Sum("amount_minor"))
            .order_by()
        )
        for found in per_day:
            new = row(found["day"], found["currency"])
            setattr(new, f"payments_{status}", found["count"])
            setattr(new, f"payments_{status}_minor", found["minor"] or 0)
    New.objects.bulk_create(rows.values(), batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("bi", "0001_initial"),
        ("payments", "0004_subscription_limits_per_currency"),
    ]

    operations = [
        migrations.CreateModel(
            name="DailyAggregateByCurrency",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                ("currency", models.CharField(default=bi.models.fare_currency, max_length=3)),
                ("rides_completed", models.PositiveIntegerField(default=0)),
                (
                    "revenue_minor",
                    models.BigIntegerField(default=0, help_text="Fares of completed rides."),
                ),
                (
                    "discounts_minor",
                    models.BigIntegerField(default=0, help_text="Money given by discounts."),
                ),
                ("payments_registered", models.PositiveIntegerField(default=0)),
                ("payments_registered_minor", models.BigIntegerField(default=0)),
                ("payments_verified", models.PositiveIntegerField(default=0)),
                ("payments_verified_minor", models.BigIntegerField(default=0)),
                ("payments_deleted", models.PositiveIntegerField(default=0)),
                ("payments_deleted_minor", models.BigIntegerField(default=0)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "ordering": ["-day", "currency"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("day", "currency"), name="one_aggregate_per_currency_day"
                    )
                ],
            },
        ),
        migrations.RunPython(rebuild_per_currency, migrations.RunPython.noop),
        migrations.DeleteModel(name="DailyAggregate"),
        migrations.RenameModel(old_name="DailyAggregateByCurrency", new_name="DailyAggregate"),
        migrations.AddField(
            model_name="campaigndailyspend",
            name="currency",
            field=models.CharField(default=bi.models.fare_currency, max_length=3),
        ),
        migrations.RemoveConstraint(
            model_name="campaigndailyspend", name="one_row_per_campaign_day"
        ),
        migrations.AddConstraint(
            model_name="campaigndailyspend",
            constraint=models.UniqueConstraint(
                fields=("day", "campaign", "currency"), name="one_row_per_campaign_currency_day"
            ),
        ),
        migrations.AlterModelOptions(
            name="campaigndailyspend", options={"ordering": ["-day", "campaign", "currency"]}
        ),
    ]
