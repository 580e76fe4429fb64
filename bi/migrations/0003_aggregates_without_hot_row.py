"""BI aggregates without a hot row: a day (and a campaign's day) may have several rows per
currency, which the reads add up (see bi.subscribers). The rows already there stay as they
are (one per key, still right); only the uniqueness goes, and a plain index takes its place
for the reads and the writers' lookup (added first, so the lookups always have one)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("bi", "0002_aggregates_per_currency"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="dailyaggregate",
            index=models.Index(fields=["day", "currency"], name="bi_aggregate_day_currency"),
        ),
        migrations.AddIndex(
            model_name="campaigndailyspend",
            index=models.Index(
                fields=["day", "campaign", "currency"], name="bi_spend_day_campaign"
            ),
        ),
        migrations.RemoveConstraint(
            model_name="dailyaggregate",
            name="one_aggregate_per_currency_day",
        ),
        migrations.RemoveConstraint(
            model_name="campaigndailyspend",
            name="one_row_per_campaign_currency_day",
        ),
    ]
