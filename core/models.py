import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class IdempotencyRecord(models.Model):
    """The first answer to a request sent with an `Idempotency-Key` header.

    A retry with the same key and body gets this answer again instead of a second booking.
    No answer yet: the request that claimed the key is in progress (core.idempotency).
    Kept IDEMPOTENCY_RETENTION_HOURS, then purged (core.idempotency.purge_expired_records);
    a closed account's are erased at once (core.idempotency.erase_person).
    """

    owner = models.CharField(max_length=64, help_text="user:<id> or service:<id>")
    scope = models.CharField(max_length=64, help_text="which endpoint the key was used on")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request body")
    # The id the request's new row (ride, payment) gets: the same on a retry after a crash,
    # so the retry finds that row instead of creating a second one.
    resource_id = models.UUIDField(default=uuid.uuid4, editable=False)
    # When the request claimed the key; with no answer yet it is "in progress" until the
    # claim is IDEMPOTENCY_LEASE_SECONDS old (its process died), then a retry takes it over.
    claimed_at = models.DateTimeField(null=True)
    status_code = models.PositiveSmallIntegerField(null=True, help_text="empty: in progress")
    response_body = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "scope", "key"], name="idempotency_key_unique_per_owner"
            )
        ]

    def __str__(self):
        return f"{self.scope} {self.key}"
