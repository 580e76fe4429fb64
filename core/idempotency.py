"""`Idempotency-Key` handling shared by every POST that must not run twice.

Three short steps, none of them wrapped around the action:

1. **Claim** the key in its own short transaction: a record "in progress" (no answer yet),
   with the id the request's new thing (a ride, a payment) will get.
2. **Run** the action with its own transaction design (the ride's discount draw stays
   outside the ride's transaction and SQLite's write lock). The action is given the
   claim's id and creates its row under it.
3. **Store** the answer on the record; a retry with the same key and body gets it again.

A duplicate that arrives while the first is running waits briefly for its answer, then
gets 409 with `Retry-After`. A claim whose process died (killed between claim and store)
goes stale after `IDEMPOTENCY_LEASE_SECONDS`; the next retry takes it over and runs the
action again with the same id, so the action finds what the dead one created and answers
with it instead of creating it twice (the primary key makes a second one impossible, even
if the first is still running after all). An action that fails (an exception) gives its
claim back: the key can be used again.
"""

import hashlib
import json
import logging
import math
import re
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from core.exceptions import Conflict, Unprocessable
from core.models import IdempotencyRecord

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# How the API schema documents the header, on every operation that takes it.
SCHEMA_PARAMETER = OpenApiParameter(
    HEADER,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Send the same key again to get the first answer instead of doing it twice.",
)


class StillProcessing(Conflict):
    default_detail = "A request with this key is still being processed. Try again shortly."

    def __init__(self, retry_after: int):
        super().__init__(
            f"A request with this {HEADER} is still being processed. "
            f"Try again in {retry_after} seconds for its answer."
        )
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


def _fingerprint(payload) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


# Control characters: never in a key a client means (PostgreSQL's text cannot even hold NUL).
_CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f]")


def read_key(request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or _CONTROL_CHARACTERS.search(key):
        raise ValidationError(
            {
                "detail": f"{HEADER} must be between 1 and {MAX_KEY_LENGTH} characters, "
                "with no control characters."
            }
        )
    return key


def respond_once(
    *,
    request,
    owner: str,
    scope: str,
    action: Callable[[uuid.UUID], Response],
    payload=None,
) -> Response:
    """Run `action(resource_id)` once per (owner, scope, key); replay its answer for a retry.

    `resource_id` is the id the action gives the row it creates; it is the same on every
    retry with the same key, and the action returns the row it finds under it instead of
    creating a second one. Without a key the action runs once with a fresh id.

    `payload`: what makes two requests the same one (the body as validated, without the
    keys the endpoint ignores); the body as sent when not given.
    """
    key = read_key(request)
    if key is None:
        return action(uuid.uuid4())
    fingerprint = _fingerprint(request.data if payload is None else payload)
    claim = _claim(owner=owner, scope=scope, key=key, fingerprint=fingerprint)
    if isinstance(claim, Response):
        return claim
    try:
        response = action(claim.resource_id)
    except BaseException:
        _release(claim)
        raise
    _store(claim, response)
    return response


def _lease() -> timedelta:
    return timedelta(seconds=settings.IDEMPOTENCY_LEASE_SECONDS)


def _claim(*, owner, scope, key, fingerprint) -> IdempotencyRecord | Response:
    """The key claimed for this request, or the first request's answer to replay."""
    deadline = time.monotonic() + settings.IDEMPOTENCY_WAIT_SECONDS
    pause = 0.02
    while True:
        now = timezone.now()
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(
                    owner=owner, scope=scope, key=key, fingerprint=fingerprint, claimed_at=now
                )
        except IntegrityError:
            pass  # claimed before: answered, in progress, or left by a dead process
        record = IdempotencyRecord.objects.filter(owner=owner, scope=scope, key=key).first()
        if record is None:
            continue  # the other request failed and gave the key back: claim it
        if record.fingerprint != fingerprint:
            raise Unprocessable(
                f"This {HEADER} was already used for a different request. Use a new key."
            )
        if record.status_code is not None:
            return _replay(record)
        stale = record.claimed_at is None or record.claimed_at <= now - _lease()
        if stale and _take_over(record, now):
            return record
        if time.monotonic() >= deadline:
            left = (record.claimed_at + _lease() - now).total_seconds() if not stale else 1
            raise StillProcessing(retry_after=max(1, math.ceil(left)))
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def _take_over(record: IdempotencyRecord, now) -> bool:
    """Claim a stale record for this request, unless another retry just did."""
    taken = IdempotencyRecord.objects.filter(
        pk=record.pk, status_code__isnull=True, claimed_at=record.claimed_at
    ).update(claimed_at=now)
    if taken:
        logger.warning(
            "Idempotency-Key %s of %s (%s) taken over after its claim went stale",
            record.key, record.owner, record.scope,
        )  # fmt: skip
        record.claimed_at = now
    return bool(taken)


def _release(claim: IdempotencyRecord) -> None:
    """The action failed: give the key back (unless a takeover holds it by now)."""
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.filter(
                pk=claim.pk, status_code__isnull=True, claimed_at=claim.claimed_at
            ).delete()
    except DatabaseError:
        # The database is gone too: the claim goes stale and a retry takes it over.
        logger.warning("Could not give back Idempotency-Key %s of %s", claim.key, claim.owner)


def _store(claim: IdempotencyRecord, response: Response) -> None:
    IdempotencyRecord.objects.filter(pk=claim.pk, status_code__isnull=True).update(
        status_code=response.status_code, response_body=response.data
    )


def _replay(record: IdempotencyRecord) -> Response:
    response = Response(record.response_body, status=record.status_code)
    response["Idempotent-Replayed"] = "true"
    return response


# --- How long answers are kept ---------------------------------------------------------

PURGE_BATCH = 500


def retention() -> timedelta:
    return timedelta(hours=settings.IDEMPOTENCY_RETENTION_HOURS)


def purge_expired_records(*, now=None, limit: int = 10_000) -> int:
    """Delete the answers kept longer than IDEMPOTENCY_RETENTION_HOURS (and not claimed
    again by a retry since), at most `limit`, in batches; returns how many. The relay's
    scheduled pass runs it (events.aws.relay_on_schedule, `manage.py relay_events`).

    Safe to repeat (nothing due: one read, no write lock taken, which on SQLite every
    transaction would) and to run concurrently: each batch is locked with SKIP LOCKED
    (PostgreSQL), so two purges never wait for each other or delete the same row; SQLite
    runs one writer at a time. A retry racing the purge of its key claims it again.
    """
    cutoff = (now or timezone.now()) - retention()
    expired = IdempotencyRecord.objects.filter(created_at__lt=cutoff).exclude(
        claimed_at__gte=cutoff
    )
    purged = 0
    while purged < limit:
        size = min(PURGE_BATCH, limit - purged)
        if not expired.exists():
            break
        with transaction.atomic():
            batch = list(
                expired.select_for_update(skip_locked=True)
                .order_by("created_at")
                .values_list("pk", flat=True)[:size]
            )
            if batch:
                purged += IdempotencyRecord.objects.filter(pk__in=batch).delete()[0]
        if len(batch) < size:  # the rest is gone, or being purged by another pass
            break
    return purged


def erase_person(*, user_id) -> None:
    """A closed account: the answers to its own keys (owner `user:<id>`, as the APIs name a
    signed-in caller) are deleted, in the closing's transaction (accounts.services). Answers
    others keep about it are each app's to erase (payments.privacy)."""
    IdempotencyRecord.objects.filter(owner=f"user:{user_id}").delete()
