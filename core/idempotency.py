"""`Idempotency-Key` handling shared by every POST that must not run twice."""

import hashlib
import json
from collections.abc import Callable

from django.db import IntegrityError, transaction
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from core.exceptions import Unprocessable
from core.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def _fingerprint(payload) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def read_key(request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValidationError(
            {"detail": f"{HEADER} must be between 1 and {MAX_KEY_LENGTH} characters."}
        )
    return key


def respond_once(*, request, owner: str, scope: str, action: Callable[[], Response]) -> Response:
    """Run `action` once per (owner, scope, key); replay its answer for a retry.

    The key is claimed inside the same transaction as the action, so a failed action
    (any exception) leaves no trace and the key can be used again. A concurrent retry
    waits on the unique constraint and then reads the committed answer.
    """
    key = read_key(request)
    if key is None:
        return action()  # the action is atomic itself; the answer is built after commit
    fingerprint = _fingerprint(request.data)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    owner=owner, scope=scope, key=key, fingerprint=fingerprint
                )
        except IntegrityError:
            return _replay(owner=owner, scope=scope, key=key, fingerprint=fingerprint)
        response = action()
        record.status_code = response.status_code
        record.response_body = response.data
        record.save(update_fields=["status_code", "response_body"])
    return response


def _replay(*, owner, scope, key, fingerprint) -> Response:
    record = IdempotencyRecord.objects.get(owner=owner, scope=scope, key=key)
    if record.fingerprint != fingerprint:
        raise Unprocessable(
            f"This {HEADER} was already used for a different request. Use a new key."
        )
    response = Response(record.response_body, status=record.status_code or status.HTTP_200_OK)
    response["Idempotent-Replayed"] = "true"
    return response
