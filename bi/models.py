from django.db import models


class DailyAggregate(models.Model):
    """One day of the business, kept up to date by the BI subscriber (the dashboard reads it)."""

    day = models.DateField(primary_key=True)
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
        ordering = ["-day"]

    def __str__(self):
        return str(self.day)


class CampaignDailySpend(models.Model):
    """Discount money per campaign per day (by label, as riders saw it)."""

    day = models.DateField()
    campaign = models.CharField(max_length=120)
    rides = models.PositiveIntegerField(default=0)
    discounts_minor = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-day", "campaign"]
        constraints = [
            models.UniqueConstraint(fields=["day", "campaign"], name="one_row_per_campaign_day")
        ]

    def __str__(self):
        return f"{self.day} {self.campaign}"
