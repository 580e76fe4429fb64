"""Attempt counting (a service: it writes) for throttles and code guesses.

`count_attempt` adds one to a key's count in its window and says whether the count is
still within the limit. The row is locked while it is read and written (SELECT ... FOR
UPDATE on PostgreSQL; SQLite's IMMEDIATE transactions take the write lock at BEGIN), so
any number of concurrent requests get distinct counts: no check-then-increment race lets
more than `limit` through.
"""

import hashlib
import random
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import AttemptCounter

# One call in this many also deletes counters whose window ended a day ago.
_SWEEP_ONE_IN = 200


def attempt_key(scope: str, identity: str) -> str:
    """The counter's key: the scope and a hash of the identity (an e-mail, an address)."""
    digest = hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{scope}:{digest}"[:128]


@dataclass(frozen=True)
class Attempt:
    count: int
    limit: int
    retry_after: float  # seconds until the window ends

    @property
    def allowed(self) -> bool:
        return self.count <= self.limit

    @property
    def left(self) -> int:
        return max(self.limit - self.count, 0)


def count_attempt(key: str, *, limit: int, period: float) -> Attempt:
    """Count one attempt for `key` in a window of `period` seconds that starts at the first."""
    now = timezone.now()
    window = timedelta(seconds=period)
    with transaction.atomic():
        counter = AttemptCounter.objects.select_for_update().filter(key=key).first()
        if counter is None:
            try:
                with transaction.atomic():
                    counter = AttemptCounter.objects.create(key=key, window_start=now, count=1)
            except IntegrityError:  # another request created it first: count on it
                counter = AttemptCounter.objects.select_for_update().get(key=key)
            else:
                _maybe_sweep(now)
                return Attempt(1, limit, period)
        if counter.window_start + window <= now:
            counter.window_start, counter.count = now, 1
        else:
            counter.count += 1
        counter.save(update_fields=["window_start", "count"])
    retry_after = (counter.window_start + window - now).total_seconds()
    return Attempt(counter.count, limit, max(retry_after, 0.0))


def peek_attempts(key: str, *, period: float) -> int:
    """The count in the current window, without counting."""
    since = timezone.now() - timedelta(seconds=period)
    counter = AttemptCounter.objects.filter(key=key, window_start__gt=since).first()
    return counter.count if counter else 0


def forget_attempts(key: str) -> None:
    AttemptCounter.objects.filter(key=key).delete()


def _maybe_sweep(now) -> None:
    if random.randrange(_SWEEP_ONE_IN) == 0:  # noqa: S311 (housekeeping, not security)
        AttemptCounter.objects.filter(window_start__lt=now - timedelta(days=7)).delete()
