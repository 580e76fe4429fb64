import secrets
import uuid

from django.conf import settings
from django.db import models

from core.validators import validate_one_line
from promos.models import CAMPAIGN_MAX_LENGTH, LABEL_MAX_LENGTH
from rides.places import place_near


class Unicorn(models.Model):
    class Gender(models.TextChoices):
        MALE = "male", "male"
        FEMALE = "female", "female"
        NONBINARY = "nonbinary", "non-binary"

    name = models.CharField(max_length=80, unique=True, validators=[validate_one_line])
    color = models.CharField("colour", max_length=40, validators=[validate_one_line])
    gender = models.CharField(max_length=10, choices=Gender.choices)
    latitude = models.FloatField()
    longitude = models.FloatField()
    on_duty = models.BooleanField(default=True, help_text="Working today.")
    is_available = models.BooleanField(
        default=True, editable=False, help_text="Free for a new ride (not on one now)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(
                fields=["on_duty", "is_available", "latitude", "longitude"],
                name="unicorn_dispatch_box_idx",
            )
        ]

    def __str__(self):
        return self.name

    @property
    def pronoun(self) -> str:
        return {"male": "his", "female": "her"}.get(self.gender, "their")

    @property
    def pronoun_subject(self) -> str:
        return {"male": "he", "female": "she"}.get(self.gender, "they")


ACTIVE_STATUSES = ("assigned", "arrived", "in_progress")

# References riders and operators read aloud: no 0/O, 1/I/L.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
REFERENCE_LENGTH = 6


def new_reference() -> str:
    return "WR-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


class Ride(models.Model):
    """A ride. The server drives it: assigned → arrived (the unicorn reached the pickup, a
    time known at dispatch: `arrives_at`) → in_progress (the rider boarded) → completed; or
    cancelled, or expired (no-show). rides.services owns every change."""

    class Status(models.TextChoices):
        ASSIGNED = "assigned", "assigned"
        ARRIVED = "arrived", "arrived"
        IN_PROGRESS = "in_progress", "in progress"
        COMPLETED = "completed", "completed"
        CANCELLED = "cancelled", "cancelled"
        EXPIRED = "expired", "expired"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(
        max_length=12, unique=True, default=new_reference, help_text="What people quote."
    )
    rider = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="rides",
        db_index=False,  # ride_rider_newest_idx starts with it: one index less per ride
    )
    unicorn = models.ForeignKey(Unicorn, on_delete=models.PROTECT, related_name="rides")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ASSIGNED)
    pickup_latitude = models.FloatField()
    pickup_longitude = models.FloatField()
    dropoff_latitude = models.FloatField(null=True, blank=True)
    dropoff_longitude = models.FloatField(null=True, blank=True)
    unicorn_start_latitude = models.FloatField(help_text="Where the unicorn was when dispatched.")
    unicorn_start_longitude = models.FloatField()
    distance_to_pickup_m = models.PositiveIntegerField()
    eta_seconds = models.PositiveIntegerField(help_text="Travel time to the pickup at dispatch.")
    base_fare_minor = models.PositiveIntegerField(help_text="Fare before discount, in cents.")
    discount_multiplier = models.DecimalField(max_digits=3, decimal_places=2, default=1)
    discount_award_id = models.BigIntegerField(
        null=True, blank=True, help_text="The promo service's award (it may live elsewhere)."
    )
    discount_campaign = models.CharField(max_length=CAMPAIGN_MAX_LENGTH, blank=True)
    discount_label = models.CharField(max_length=LABEL_MAX_LENGTH, blank=True)
    fare_minor = models.PositiveIntegerField(help_text="Fare after discount, in cents.")
    fare_currency = models.CharField(max_length=3)
    cancellation_fee_minor = models.PositiveIntegerField(
        default=0, help_text="Charged for a cancellation after arrival or a no-show, in cents."
    )
    requested_at = models.DateTimeField(auto_now_add=True, db_index=True)
    arrives_at = models.DateTimeField(
        null=True, blank=True, help_text="When the unicorn reaches the pickup (from dispatch)."
    )
    arrived_at = models.DateTimeField(null=True, blank=True)
    boarded_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-requested_at"]
        indexes = [
            models.Index(fields=["rider", "-requested_at"], name="ride_rider_newest_idx"),
            models.Index(fields=["status", "arrives_at"], name="ride_status_due_idx"),
        ]
        constraints = [
            # At most one active ride per rider, whatever races: the database says no.
            models.UniqueConstraint(
                fields=["rider"],
                condition=models.Q(status__in=ACTIVE_STATUSES),
                name="one_active_ride_per_rider",
            )
        ]

    def __str__(self):
        return f"{self.reference}: {self.unicorn} for {self.rider} ({self.status})"

    @property
    def has_dropoff(self) -> bool:
        return self.dropoff_latitude is not None

    @property
    def pickup_place(self) -> str | None:
        """The place riders know the pickup by ("Capitol Hill"), if one is near."""
        return place_near(self.pickup_latitude, self.pickup_longitude)

    @property
    def dropoff_place(self) -> str | None:
        if not self.has_dropoff:
            return None
        return place_near(self.dropoff_latitude, self.dropoff_longitude)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class UnicornApplication(models.Model):
    """A unicorn asking to join the fleet; an operator accepts (creating the unicorn) or not."""

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        ACCEPTED = "accepted", "accepted"
        REJECTED = "rejected", "rejected"

    name = models.CharField(max_length=80, validators=[validate_one_line])
    color = models.CharField("colour", max_length=40, validators=[validate_one_line])
    gender = models.CharField(max_length=10, choices=Unicorn.Gender.choices)
    email = models.EmailField(help_text="How we reach the applicant.")
    motivation = models.TextField(max_length=2000, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    submitted_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    unicorn = models.OneToOneField(
        Unicorn, null=True, blank=True, on_delete=models.SET_NULL, related_name="application"
    )

    class Meta:
        ordering = ["-submitted_at"]

    def __str__(self):
        return f"{self.name} ({self.status})"
