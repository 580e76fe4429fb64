"""The outbox: emit in the caller's transaction, publish after commit, relay what is left.

Locally "publish" means: hand each event to its in-process subscribers (a `Delivery` per
subscriber, retried with backoff, dead-lettered after EVENTS_MAX_ATTEMPTS). With
EVENTS_SNS_TOPIC_ARN set it means: publish to SNS, whose SQS queues feed `events.aws`.

When, after the commit, is set by `settings.EVENTS_DELIVERY` (read at each commit):
- "inline" (the default, also when the settings do not name it): in the committing
  thread, before `emit`'s caller goes on. A request answers only once both subscribers
  are done: about twice the work of POST /api/payments/ without them (docs/benchmarks.md).
- "thread": handed to one background thread of the process, which publishes in batches;
  the request answers at once. For long-running servers (gunicorn), not for Lambda, which
  freezes the process after the answer.
- "relay": not at all; the relay loop (`manage.py relay_events --loop`) publishes.
Whatever the mode, an event is committed before anything is published and stays
unpublished until it has been handed on, so a process that dies with events in its queue
leaves them to the relay: at least once, with the same retries and dead letters.
"""

import logging
import os
import queue
import threading
import traceback
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connections, transaction
from django.db.models import F
from django.utils import timezone

from core.observability import count_metric
from events import registry
from events.models import Delivery, OutboxEvent, ProcessedEvent

logger = logging.getLogger(__name__)

RELAY_BATCH = 500
BACKGROUND_QUEUE = 10_000  # events waiting for the background thread; beyond, the relay's
BACKGROUND_IDLE_SECONDS = 1.0  # the thread closes its connection after this long without work


def emit(event_type: str, data: dict, *, version: int = 1) -> OutboxEvent:
    """Record `event_type` in the outbox as part of the current transaction.

    Nothing leaves before the commit; a rollback leaves nothing to publish.
    """
    event = OutboxEvent.objects.create(
        type=event_type, version=version, occurred_at=timezone.now(), data=data
    )
    transaction.on_commit(lambda: _after_commit(event.pk), robust=True)
    return event


def _after_commit(event_id) -> None:
    mode = getattr(settings, "EVENTS_DELIVERY", "inline")
    if mode == "thread":
        _background.submit(event_id)
    elif mode != "relay":
        publish_events([event_id])


class _BackgroundPublisher:
    """One daemon thread per process publishing committed events, in batches, in order."""

    def __init__(self):
        self._lock = threading.Lock()
        self._queue = None
        self._pid = None

    def submit(self, event_id) -> None:
        with self._lock:
            if self._pid != os.getpid():  # first use, or a fork (gunicorn workers)
                self._queue = queue.Queue(maxsize=BACKGROUND_QUEUE)
                self._pid = os.getpid()
                threading.Thread(
                    target=self._run, args=(self._queue,), name="outbox-publisher", daemon=True
                ).start()
        try:
            self._queue.put_nowait(event_id)
        except queue.Full:
            logger.warning("Outbox queue full: event %s left to the relay", event_id)

    def _run(self, pending: queue.Queue) -> None:
        while True:
            try:
                batch = [pending.get(timeout=BACKGROUND_IDLE_SECONDS)]
            except queue.Empty:  # idle: give the database connection back
                connections.close_all()
                batch = [pending.get()]
            while len(batch) < RELAY_BATCH:
                try:
                    batch.append(pending.get_nowait())
                except queue.Empty:
                    break
            try:
                publish_events(batch)
            except Exception:  # the database, most likely; the relay will publish them
                logger.exception("Could not publish %d events; left to the relay", len(batch))
            finally:
                close_old_connections()


_background = _BackgroundPublisher()


def publish_events(event_ids) -> int:
    """Hand on these events if still unpublished; return how many went out."""
    published = 0
    for event in OutboxEvent.objects.filter(pk__in=event_ids, published_at__isnull=True):
        try:
            published += _publish(event)
        except Exception as error:  # the relay will try again
            logger.warning("Could not publish event %s (%s): %s", event.pk, event.type, error)
            OutboxEvent.objects.filter(pk=event.pk).update(
                publish_attempts=F("publish_attempts") + 1, last_error=str(error)[:2000]
            )
    return published


def _publish(event: OutboxEvent) -> int:
    if settings.EVENTS_SNS_TOPIC_ARN:
        from events import aws

        aws.publish_to_sns(event)
        OutboxEvent.objects.filter(pk=event.pk).update(published_at=timezone.now())
        return 1
    with transaction.atomic():
        claimed = OutboxEvent.objects.filter(pk=event.pk, published_at__isnull=True).update(
            published_at=timezone.now()
        )
        if not claimed:
            return 0  # another process (the relay) got there first
        deliveries = Delivery.objects.bulk_create(
            Delivery(event=event, subscriber=s.name, next_attempt_at=timezone.now())
            for s in registry.subscribers_for(event.type)
        )
    for delivery in deliveries:
        attempt_delivery(delivery)
    return 1


def process_event(subscriber: registry.Subscriber, envelope: dict) -> bool:
    """Run the subscriber's handler once per event id; False if it had already run."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                ProcessedEvent.objects.create(subscriber=subscriber.name, event_id=envelope["id"])
        except IntegrityError:
            return False
        subscriber.handler(envelope)
    return True


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=settings.EVENTS_RETRY_BASE_SECONDS * 2 ** (attempts - 1))


def attempt_delivery(delivery: Delivery) -> bool:
    """Try one delivery; on failure schedule a retry, or dead-letter it after the last try."""
    subscriber = registry.subscriber(delivery.subscriber)
    delivery.attempts += 1
    try:
        process_event(subscriber, delivery.event.envelope())
    except Exception as error:
        delivery.last_error = "".join(traceback.format_exception_only(error)).strip()[:4000]
        if delivery.attempts >= settings.EVENTS_MAX_ATTEMPTS:
            delivery.status = Delivery.Status.DEAD
            delivery.next_attempt_at = None
            count_metric("DeadLetters", subscriber=delivery.subscriber)
            logger.error(
                "Dead letter: %s to %s after %d attempts: %s",
                delivery.event.type,
                delivery.subscriber,
                delivery.attempts,
                delivery.last_error,
            )
        else:
            delivery.next_attempt_at = timezone.now() + backoff(delivery.attempts)
        delivery.save()
        return False
    delivery.status = Delivery.Status.DELIVERED
    delivery.next_attempt_at = None
    delivery.save()
    return True


def record_dead_letter(*, subscriber: str, envelope: dict, error: str, attempts: int) -> Delivery:
    """A message that failed its last try on AWS, kept where operators can replay it."""
    event, _ = OutboxEvent.objects.get_or_create(
        pk=envelope["id"],
        defaults={
            "type": envelope["type"],
            "version": envelope.get("version", 1),
            "occurred_at": envelope["occurred_at"],
            "data": envelope["data"],
            "published_at": timezone.now(),
        },
    )
    count_metric("DeadLetters", subscriber=subscriber)
    delivery, _ = Delivery.objects.update_or_create(
        event=event,
        subscriber=subscriber,
        defaults={"status": Delivery.Status.DEAD, "attempts": attempts, "last_error": error[:4000]},
    )
    return delivery


def replay_dead_letter(delivery: Delivery) -> bool:
    """An operator's replay: one more delivery; the subscriber still runs at most once."""
    delivery.status = Delivery.Status.PENDING
    return attempt_delivery(delivery)


def relay_events() -> dict:
    """Publish what is unpublished and retry deliveries that are due. Safe to run anywhere."""
    pending_ids = list(
        OutboxEvent.objects.filter(published_at__isnull=True)
        .order_by("occurred_at")
        .values_list("pk", flat=True)[:RELAY_BATCH]
    )
    published = publish_events(pending_ids)
    retried = delivered = 0
    due = Delivery.objects.filter(
        status=Delivery.Status.PENDING, next_attempt_at__lte=timezone.now()
    ).select_related("event")[:RELAY_BATCH]
    for delivery in due:
        retried += 1
        delivered += attempt_delivery(delivery)
    return {"published": published, "retried": retried, "delivered": delivered}
