from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from uuid6 import uuid7


class OutboxEvent(models.Model):
    """A domain event, written in the same transaction as the change it reports.

    `published_at` is set once it has been handed on: to the in-process subscribers
    locally, or to SNS on AWS. The relay sends whatever is still unpublished.

    Ids are UUID version 7, which start with the time: events are written in time order,
    so the outbox's key and the subscribers' indexes on the event id grow at their end,
    instead of touching a random page of each index for every event as version 4 would.
    """

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # Not indexed: no query of the app looks events up by type, and on PostgreSQL the two
    # indexes a CharField gets were written on every insert and again on publication.
    type = models.CharField(max_length=80)
    version = models.PositiveSmallIntegerField(default=1)
    occurred_at = models.DateTimeField(db_index=True)
    data = models.JSONField(encoder=DjangoJSONEncoder)
    published_at = models.DateTimeField(null=True, blank=True)
    publish_attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["occurred_at"]
        indexes = [
            models.Index(
                fields=["occurred_at"],
                condition=models.Q(published_at__isnull=True),
                name="outbox_unpublished_idx",
            )
        ]

    def __str__(self):
        return f"{self.type} {self.id}"

    def envelope(self) -> dict:
        """The message every subscriber receives (JSON-safe)."""
        return {
            "id": str(self.id),
            "type": self.type,
            "version": self.version,
            "occurred_at": self.occurred_at.isoformat(),
            "data": self.data,
        }


class Delivery(models.Model):
    """One event that a subscriber failed on: retried with backoff, then dead-lettered.

    A delivery that succeeds at once needs no row: the subscriber's ProcessedEvent records
    it. One that failed keeps its row and history, "delivered" once a retry or a replay
    got through.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        DELIVERED = "delivered", "delivered"
        DEAD = "dead", "dead letter"

    # No index of its own: the unique (event, subscriber) constraint starts with it.
    event = models.ForeignKey(
        OutboxEvent, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    subscriber = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "subscriber"], name="one_delivery_per_subscriber"
            )
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx")]

    def __str__(self):
        return f"{self.event.type} to {self.subscriber} ({self.status})"


class DeadLetter(Delivery):
    """The admin's view of deliveries that gave up: inspect and replay."""

    class Meta:
        proxy = True
        verbose_name = "dead letter"


class ProcessedEvent(models.Model):
    """What a subscriber has already handled: a redelivery of the same event changes nothing."""

    subscriber = models.CharField(max_length=40)
    event_id = models.UUIDField()
    processed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "event_id"], name="processed_once")
        ]

    def __str__(self):
        return f"{self.subscriber} {self.event_id}"
