import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from organizations.models import Organization


class Subscription(models.Model):
    """What an organization's plan allows for payment lists, and when."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="subscriptions"
    )
    plan = models.CharField(max_length=40)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Empty: open-ended.")
    max_rows_per_list = models.PositiveIntegerField()
    max_total_minor_per_list = models.PositiveBigIntegerField(
        "max total per list in any other currency",
        null=True,
        blank=True,
        help_text="In minor units (cents), for each currency apart that has no limit of its "
        "own below; never the sum of several currencies. Empty: only the currencies below.",
    )

    class Meta:
        ordering = ["-starts_at"]

    def __str__(self):
        return f"{self.organization} {self.plan}"

    def limit_for(self, currency: str) -> int | None:
        """The most a list may total in `currency`, in its minor units; None: the plan
        covers no amount in it. Reads `limits` (prefetch them for many subscriptions)."""
        for limit in self.limits.all():
            if limit.currency == currency:
                return limit.max_total_minor_per_list
        return self.max_total_minor_per_list


class SubscriptionLimit(models.Model):
    """How much a list may total in one currency under a subscription."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="limits")
    currency = models.CharField(max_length=3)
    max_total_minor_per_list = models.PositiveBigIntegerField(
        "max total per list", help_text="In this currency's minor units (cents)."
    )

    class Meta:
        ordering = ["currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "currency"], name="one_limit_per_currency"
            )
        ]

    def __str__(self):
        return f"{self.subscription}: {self.currency}"

    def clean(self):
        self.currency = (self.currency or "").upper()
        if self.currency not in settings.PAYMENT_CURRENCIES:
            known = ", ".join(settings.PAYMENT_CURRENCIES)
            raise ValidationError({"currency": f"Unknown currency; use one of {known}."})


class Payment(models.Model):
    class Status(models.TextChoices):
        REGISTERED = "registered", "registered"
        VERIFIED = "verified", "verified"
        DELETED = "deleted", "deleted"

    class DeletionReason(models.TextChoices):
        """Why a payment was deleted, when it was not simply taken back (empty then)."""

        FEE_WAIVED = "fee_waived", "fee waived"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(max_length=64, unique=True)
    amount_minor = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.REGISTERED, db_index=True
    )
    ride = models.ForeignKey(
        "rides.Ride", null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    payer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="payments",
    )  # fmt: skip
    payer_email = models.EmailField(blank=True)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    # The payment list (payment_lists app) this payment was imported from. A plain id, not a
    # foreign key: payments knows nothing of the app that imports lists into it.
    payment_list_id = models.BigIntegerField(
        null=True, blank=True, db_index=True, help_text="The payment list it was imported from."
    )
    # Given by the change that registers it (a ride's fare: the ride's completed_at, one
    # clock reading, so both fall on the same day), else the moment of the INSERT.
    registered_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    registered_by = models.CharField(max_length=120)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.CharField(max_length=120, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.CharField(max_length=120, blank=True)
    deletion_reason = models.CharField(
        max_length=20,
        blank=True,
        default="",
        # The database's own default too: payment lists INSERT their payments in SQL.
        db_default="",
        choices=DeletionReason.choices,
        help_text="Why it was deleted, if not simply taken back: fee waived, an operator "
        "forgave the ride's fee (the rider owes nothing for it).",
    )

    class Meta:
        ordering = ["-registered_at"]

    def __str__(self):
        return f"{self.reference} ({self.status})"
