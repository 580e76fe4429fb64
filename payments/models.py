import uuid

from django.conf import settings
from django.db import models


class Organization(models.Model):
    """A business that pays or submits payment lists; finance staff act for it."""

    name = models.CharField(max_length=120, unique=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="organizations",
        help_text="Finance staff allowed to act for this organization.",
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Subscription(models.Model):
    """What an organization's plan allows for payment lists, and when."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="subscriptions"
    )
    plan = models.CharField(max_length=40)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Empty: open-ended.")
    max_rows_per_list = models.PositiveIntegerField()
    max_total_minor_per_list = models.PositiveBigIntegerField(help_text="In cents.")

    class Meta:
        ordering = ["-starts_at"]

    def __str__(self):
        return f"{self.organization} {self.plan}"


class Payment(models.Model):
    class Status(models.TextChoices):
        REGISTERED = "registered", "registered"
        VERIFIED = "verified", "verified"
        DELETED = "deleted", "deleted"

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
    registered_at = models.DateTimeField(auto_now_add=True, db_index=True)
    registered_by = models.CharField(max_length=120)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.CharField(max_length=120, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["-registered_at"]

    def __str__(self):
        return f"{self.reference} ({self.status})"
