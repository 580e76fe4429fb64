"""Handing committed events on: to the in-process subscribers (`events.delivery`) locally,
or to SNS (`events.sns`) when EVENTS_SNS_TOPIC_ARN is set, whose SQS queues feed
`events.aws`.

Right after the commit that wrote them, in the committing thread before its caller goes
on, unless `settings.EVENTS_DELIVERY` is "relay": the event `emit` wrote
(`publish_after_commit`), or of a set the database wrote (`emit_rows`), one batch
(`relay_after_commit`). And by the relay (`relay_events`: `manage.py relay_events --loop`
beside a local server, a schedule on AWS), which publishes whatever is still unpublished
(the rest of a set of more than a batch, a process that died after its commit, SNS out of
reach, "relay" mode) and retries the deliveries that are due. An event stays unpublished
until it has been handed on: at least once.
"""

import logging
import time

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from events import delivery, sns
from events.models import Delivery, OutboxEvent

logger = logging.getLogger(__name__)

RELAY_BATCH = 500


def publish_after_commit(event: OutboxEvent) -> None:
    """The outbox's after-commit hook for an event just written (the object as written)."""
    if settings.EVENTS_DELIVERY != "relay":
        publish_events([event.pk], written=event)


def relay_after_commit(first, last) -> None:
    """The outbox's after-commit hook for a set of events written by the database
    (`emit_rows`, their ids between `first` and `last`): ONE batch of them handed on, at
    most RELAY_BATCH, so a small set goes out at once, as `emit`'s event does. The rest of
    a larger set is the scheduled relay's, as are the deliveries due for a retry: a
    relay pass here would keep the committing thread (a payment list's ImportList) up to
    EVENTS_RELAY_SECONDS, doing what the schedule does anyway. The set's own events, not
    the oldest unpublished: a set committed behind the rest of a large one still goes out
    at once."""
    if settings.EVENTS_DELIVERY != "relay":
        written = OutboxEvent.objects.filter(pk__range=(first, last), published_at__isnull=True)
        publish_events(written.order_by("pk").values_list("pk", flat=True)[:RELAY_BATCH])


def publish_events(event_ids, *, written: OutboxEvent | None = None) -> int:
    """Hand on these events if still unpublished; return how many went out. `written`: the
    one event of `event_ids` that this process has just committed, as written (delivered
    locally without reading it back, see `events.delivery.deliver_batch`)."""
    event_ids = list(event_ids)
    if not settings.EVENTS_SNS_TOPIC_ARN:
        if written is not None:
            return delivery.deliver_batch(event_ids, written=written)
        return sum(
            delivery.deliver_batch(event_ids[i : i + RELAY_BATCH])
            for i in range(0, len(event_ids), RELAY_BATCH)
        )
    published = 0
    unpublished = list(OutboxEvent.objects.filter(pk__in=event_ids, published_at__isnull=True))
    # One UPDATE for what a call sent, one per error for what it did not.
    for events, failed in sns.publish(unpublished):
        sent = [event.pk for event in events if event.pk not in failed]
        if sent:
            published += OutboxEvent.objects.filter(pk__in=sent).update(published_at=timezone.now())
        for error, ids in _by_error(failed).items():
            logger.warning("Could not publish events %s: %s", ", ".join(map(str, ids)), error)
            OutboxEvent.objects.filter(pk__in=ids).update(
                publish_attempts=F("publish_attempts") + 1, last_error=error[:2000]
            )
    return published


def _by_error(failed: dict) -> dict:
    ids_by_error = {}
    for event_id, error in failed.items():
        ids_by_error.setdefault(error, []).append(event_id)
    return ids_by_error


def relay_events(*, seconds: float | None = None) -> dict:
    """Publish what is unpublished and retry deliveries that are due, RELAY_BATCH at a
    time, batch after batch until nothing is left or the pass has used its time (`seconds`,
    else settings.EVENTS_RELAY_SECONDS; on Lambda also what the invocation has left, see
    `events.aws.relay_on_schedule`): a backlog drains in as few scheduled passes as its
    size needs. A batch is never cut short by the time. An event that fails to go out (SNS
    down) is left to the next pass, not tried again in this one. Safe to run anywhere, and
    several at once: locally each event is claimed by one; to SNS two passes at once may
    both publish an event, which each subscriber then skips (idempotent by event id).
    """
    budget = settings.EVENTS_RELAY_SECONDS if seconds is None else seconds
    deadline = time.monotonic() + budget
    published, stuck = 0, set()
    while True:
        pending = OutboxEvent.objects.filter(published_at__isnull=True).exclude(pk__in=stuck)
        batch = list(pending.order_by("occurred_at").values_list("pk", flat=True)[:RELAY_BATCH])
        if not batch:
            break
        went = publish_events(batch)
        published += went
        if went < len(batch):  # failed ones stay unpublished (others took the rest)
            left = OutboxEvent.objects.filter(pk__in=batch, published_at__isnull=True)
            stuck.update(left.values_list("pk", flat=True))
        if len(stuck) >= RELAY_BATCH or time.monotonic() >= deadline:
            break
    retried, delivered = _retry_due_deliveries(deadline)
    return {"published": published, "retried": retried, "delivered": delivered}


def _retry_due_deliveries(deadline: float) -> tuple[int, int]:
    """The pending deliveries that are due, RELAY_BATCH at a time: one batch at least,
    whatever the time (retries are not starved), then until the deadline."""
    retried = delivered = 0
    now, after = timezone.now(), None
    while True:
        due = Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
        if after is not None:
            due = due.filter(pk__gt=after)
        batch = list(due.select_related("event").order_by("pk")[:RELAY_BATCH])
        for pending in batch:
            retried += 1
            delivered += delivery.attempt_delivery(pending)
        if len(batch) < RELAY_BATCH or time.monotonic() >= deadline:
            return retried, delivered
        after = batch[-1].pk
