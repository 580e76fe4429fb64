from django.conf import settings
from django.db import models


def fare_currency() -> str:
    """Rows written before amounts carried their currency were in the fare currency."""
    return settings.FARE_CURRENCY


class DailyAggregate(models.Model):
    """A share of one day of the business in one currency, kept up to date by the BI
    subscriber; the dashboard adds a day's rows up (bi.selectors). Money in different
    currencies is never added together: each currency of a day has its own rows; counts are
    added up across them.

    A day and currency usually has one row; it has as many as there were writers at the same
    moment: a writer adds to a row of the day that no other transaction holds, or adds a row
    (bi.subscribers), so no ride or payment ever waits for another's increment.
    """

    day = models.DateField()
    currency = models.CharField(max_length=3, default=fare_currency)
    rides_completed = models.PositiveIntegerField(default=0)
    revenue_minor = models.BigIntegerField(default=0, help_text="Fares of completed rides.")
    discounts_minor = models.BigIntegerField(default=0, help_text="Money given by discounts.")
    payments_registered = models.PositiveIntegerField(default=0)
    payments_registered_minor = models.BigIntegerField(default=0)
    payments_verified = models.PositiveIntegerField(default=0)
    payments_verified_minor = models.BigIntegerField(default=0)
    payments_deleted = models.PositiveIntegerField(default=0)
    payments_deleted_minor = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-day", "currency"]
        indexes = [models.Index(fields=["day", "currency"], name="bi_aggregate_day_currency")]

    def __str__(self):
        return f"{self.day} {self.currency}"


class CampaignDailySpend(models.Model):
    """Discount money per campaign per day (by label, as riders saw it), per currency; a
    share of it, like DailyAggregate: the reads add a key's rows up."""

    day = models.DateField()
    campaign = models.CharField(max_length=120)
    currency = models.CharField(max_length=3, default=fare_currency)
    rides = models.PositiveIntegerField(default=0)
    discounts_minor = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-day", "campaign", "currency"]
        indexes = [
            models.Index(fields=["day", "campaign", "currency"], name="bi_spend_day_campaign")
        ]

    def __str__(self):
        return f"{self.day} {self.campaign} {self.currency}"
