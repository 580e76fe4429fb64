from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class IdempotencyRecord(models.Model):
    """The first answer to a request sent with an `Idempotency-Key` header.

    A retry with the same key and body gets this answer again instead of a second booking.
    """

    owner = models.CharField(max_length=64, help_text="user:<id> or service:<id>")
    scope = models.CharField(max_length=64, help_text="which endpoint the key was used on")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request body")
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "scope", "key"], name="idempotency_key_unique_per_owner"
            )
        ]

    def __str__(self):
        return f"{self.scope} {self.key}"
