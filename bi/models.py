from django.conf import settings
from django.db import models


def fare_currency() -> str:
    """Rows written before amounts carried their currency were in the fare currency."""
    return settings.FARE_CURRENCY


class DailyAggregate(models.Model):
    """One day of the business in one currency, kept up to date by the BI subscriber (the
    dashboard reads it). Money in different currencies is never added together: each
    currency of a day has its own row; counts are added up across them."""

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
        constraints = [
            models.UniqueConstraint(
                fields=["day", "currency"], name="one_aggregate_per_currency_day"
            )
        ]

    def __str__(self):
        return f"{self.day} {self.currency}"


class CampaignDailySpend(models.Model):
    """Discount money per campaign per day (by label, as riders saw it), per currency."""

    day = models.DateField()
    campaign = models.CharField(max_length=120)
    currency = models.CharField(max_length=3, default=fare_currency)
    rides = models.PositiveIntegerField(default=0)
    discounts_minor = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-day", "campaign", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "campaign", "currency"], name="one_row_per_campaign_currency_day"
            )
        ]

    def __str__(self):
        return f"{self.day} {self.campaign} {self.currency}"
