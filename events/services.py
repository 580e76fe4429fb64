"""The outbox: emit in the caller's transaction, publish after commit, relay what is left.

Locally "publish" means: hand each event to its in-process subscribers (each remembers it
in a ProcessedEvent row; one that fails gets a `Delivery`, retried with backoff and
dead-lettered after EVENTS_MAX_ATTEMPTS). With
EVENTS_SNS_TOPIC_ARN set it means: publish to SNS, whose SQS queues feed `events.aws`.

When, after the commit, is set by `settings.EVENTS_DELIVERY` (read at each commit):
- "thread" (the default of a long-running server: `make run`, gunicorn): kept by the
  process and delivered after the answer in batches (`deliver_batch`): by the worker
  between two requests when busy, by a watcher thread when idle; the request answers at
  once.
- "inline": in the committing thread, before `emit`'s caller goes on (a batch of one). For
  Lambda, which freezes the process after the answer (and where "publish" is the SNS call),
  and for tests, which read the subscribers' rows right after the commit.
- "relay": not at all; the relay loop (`manage.py relay_events --loop`) publishes.
Whatever the mode, an event is committed before anything is published and stays
unpublished until it has been handed on, so a process that dies with events in its queue
leaves them to the relay: at least once, with the same retries and dead letters.
"""

import atexit
import logging
import os
import threading
import time
import traceback
from datetime import timedelta

from django.conf import settings
from django.core.signals import request_finished
from django.db import (
    IntegrityError,
    close_old_connections,
    connection,
    connections,
    router,
    transaction,
)
from django.db.models import F
from django.utils import timezone
from uuid6 import uuid7

from core.db import in_values
from core.observability import count_metric
from events import registry
from events.models import Delivery, OutboxEvent, ProcessedEvent

logger = logging.getLogger(__name__)

RELAY_BATCH = 500
BACKGROUND_QUEUE = 10_000  # events waiting for the background thread; beyond, the relay's
BACKGROUND_IDLE_SECONDS = 1.0  # the thread closes its connection after this long without work
# After the answer, events wait to be delivered in batches (see _BackgroundPublisher): at
# most BACKGROUND_BATCH_WAIT under load, or until BACKGROUND_BATCH_MIN have gathered; when
# traffic stops, BACKGROUND_BATCH_QUIET without a new event is enough.
BACKGROUND_BATCH_MIN = 50
BACKGROUND_BATCH_WAIT = 0.5
BACKGROUND_BATCH_QUIET = 0.05


def emit(event_type: str, data: dict, *, version: int = 1) -> OutboxEvent:
    """Record `event_type` in the outbox as part of the current transaction.

    Nothing leaves before the commit; a rollback leaves nothing to publish.
    """
    event = OutboxEvent(
        id=uuid7(), type=event_type, version=version, occurred_at=timezone.now(), data=data,
        published_at=None, publish_attempts=0, last_error="",
    )  # fmt: skip
    _insert_event(event)
    transaction.on_commit(lambda: _after_commit(event.pk), robust=True)
    return event


_insert_event_sql: dict[str, str] = {}


def _insert_event(event: OutboxEvent) -> None:
    """INSERT a new event, its five values converted directly and the rest left constant.

    Every change's transaction writes one. Through `insert_row`, the fields' defaults and
    conversions (eight fields' `pre_save` and `get_db_prep_save`) were 60% of `emit`'s
    CPU. The row is the one `save()` would write (test).
    """
    using = router.db_for_write(OutboxEvent)
    db = connections[using]
    meta = OutboxEvent._meta
    sql = _insert_event_sql.get(using)
    if sql is None:
        names = ["id", "type", "version", "occurred_at", "data"]
        columns = [db.ops.quote_name(meta.get_field(name).column) for name in names]
        sql = _insert_event_sql[using] = (
            f"INSERT INTO {db.ops.quote_name(meta.db_table)} ({', '.join(columns)}, "  # noqa: S608
            "published_at, publish_attempts, last_error) VALUES (%s, %s, %s, %s, %s, NULL, 0, '')"
        )
    params = [
        meta.pk.get_db_prep_value(event.id, db),
        event.type,
        event.version,
        db.ops.adapt_datetimefield_value(event.occurred_at),
        meta.get_field("data").get_db_prep_value(event.data, db),
    ]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
    event._state.adding, event._state.db = False, using


def emit_rows(
    event_type: str, *, data_sql: str, from_sql: str, params: list, version: int = 1
) -> int:
    """Record one `event_type` per row of `SELECT data_sql FROM from_sql` in the current
    transaction, set-based (a million events in one INSERT ... SELECT): `emit` for many.

    `data_sql` is an SQL JSON object (the event's data, built by the database); the row
    is the one `emit` writes, with a version-7 id (this moment's milliseconds, then random)
    made by the database. Once the transaction commits they are published right away by a
    relay pass (`_relay_after_commit`); what that pass leaves is the scheduled relay's.
    Returns how many were written.
    """
    transaction.on_commit(_relay_after_commit, robust=True)
    db = connections[router.db_for_write(OutboxEvent)]
    quote = db.ops.quote_name
    now = timezone.now()
    prefix = uuid7().hex[:12]  # the v7 timestamp: this moment, shared by the batch
    if db.vendor == "postgresql":
        # "tttttttt-tttt-7" + the random rest of a v4 uuid (its variant bits included).
        new_id = f"('{prefix[:8]}-{prefix[8:]}-7' || substr(gen_random_uuid()::text, 16))::uuid"
    else:  # SQLite stores a UUIDField as 32 hex digits
        new_id = (
            f"'{prefix}7' || substr(lower(hex(randomblob(2))), 1, 3) "
            "|| substr('89ab', 1 + abs(random()) % 4, 1) "
            "|| substr(lower(hex(randomblob(8))), 1, 15)"
        )
    sql = (
        f"INSERT INTO {quote(OutboxEvent._meta.db_table)} (id, type, version, occurred_at, data, "  # noqa: S608
        f"published_at, publish_attempts, last_error) SELECT {new_id}, %s, %s, %s, {data_sql}, "
        f"NULL, 0, '' FROM {from_sql}"
    )
    with db.cursor() as cursor:
        cursor.execute(sql, [event_type, version, db.ops.adapt_datetimefield_value(now), *params])
        return cursor.rowcount


def _relay_after_commit() -> None:
    """Publish a set of events just committed: inline (Lambda, tests) within the relay's
    time budget, from a thread of its own on a server, not at all in relay mode."""
    mode = getattr(settings, "EVENTS_DELIVERY", "thread")
    if mode == "inline":
        relay_events()
    elif mode == "thread":
        threading.Thread(target=_relay_in_thread, name="outbox-relay", daemon=True).start()


def _relay_in_thread() -> None:
    try:
        relay_events()
    except Exception:  # the scheduled relay (or `relay_events --loop`) catches up
        logger.exception("Relay after a set of events failed")
    finally:
        connections.close_all()


def _after_commit(event_id) -> None:
    mode = getattr(settings, "EVENTS_DELIVERY", "thread")
    if mode == "thread":
        _background.submit(event_id)
    elif mode != "relay":
        publish_events([event_id])


class _BackgroundPublisher:
    """Delivers this process's committed events after the answer, in batches.

    A busy worker delivers between requests: once a response has gone out (Django's
    `request_finished`, sent when the server closes the response) and BACKGROUND_BATCH_MIN
    events are waiting, or the oldest has waited BACKGROUND_BATCH_WAIT, the request's own
    thread delivers them as one batch before it takes the next request. An idle process
    delivers from a watcher thread, which wakes when no event has come for
    BACKGROUND_BATCH_QUIET (traffic stopped) or the oldest has waited twice
    BACKGROUND_BATCH_WAIT, and takes the batch. Under load no second thread competes with the
    requests for the GIL or, on SQLite, takes the write lock in the middle of a request; a
    batch costs a fixed dozen statements plus a little per event.
    """

    def __init__(self):
        self._lock = threading.Lock()  # the waiting list and its times
        self._delivering = threading.Lock()  # one batch at a time per process
        self._pending: list = []
        self._first_at = self._last_at = 0.0
        self._pid = None
        self._watcher = None

    def submit(self, event_id) -> None:
        with self._lock:
            if self._pid != os.getpid():  # first use, or a fork (gunicorn workers)
                self._pid, self._pending, self._watcher = os.getpid(), [], None
            if self._watcher is None or not self._watcher.is_alive():
                self._watcher = threading.Thread(
                    target=self._watch, name="outbox-publisher", daemon=True
                )
                self._watcher.start()
            if len(self._pending) >= BACKGROUND_QUEUE:
                logger.warning("Outbox queue full: event %s left to the relay", event_id)
                return
            now = time.monotonic()
            if not self._pending:
                self._first_at = now
            self._last_at = now
            self._pending.append(event_id)

    def deliver_if_due(self, *, idle: bool = False) -> None:
        if self._pid != os.getpid() or not self._pending:
            return
        now = time.monotonic()
        with self._lock:
            waited = now - self._first_at
            if idle:
                due = now >= self._idle_due_at()
            else:
                due = len(self._pending) >= BACKGROUND_BATCH_MIN
                due = due or waited >= BACKGROUND_BATCH_WAIT
        if due and self._delivering.acquire(blocking=False):
            try:
                self._deliver_waiting()
            finally:
                self._delivering.release()

    def flush(self, timeout: float = 10.0) -> bool:
        """Deliver, in the calling thread, everything this process is holding."""
        if self._pid != os.getpid():
            return True
        if not self._delivering.acquire(timeout=timeout):  # a batch is being delivered
            return False
        try:
            while self._pending:
                self._deliver_waiting()
        finally:
            self._delivering.release()
        return True

    def wait(self, timeout: float = 10.0) -> bool:
        """Wait, without delivering in the calling thread, until nothing is held."""
        deadline = time.monotonic() + timeout
        while self._pid == os.getpid() and (self._pending or self._delivering.locked()):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def _deliver_waiting(self) -> None:
        with self._lock:
            batch, self._pending = self._pending[:RELAY_BATCH], self._pending[RELAY_BATCH:]
            self._first_at = time.monotonic()
        try:
            publish_events(batch)
        except Exception:  # the database, most likely; the relay will publish them
            logger.exception("Could not publish %d events; left to the relay", len(batch))

    def _watch(self) -> None:
        idle = 0.0
        while True:
            time.sleep(self._until_quiet())
            try:
                if self._pending:
                    idle = 0.0
                    self.deliver_if_due(idle=True)
                    close_old_connections()
                elif idle < BACKGROUND_IDLE_SECONDS:
                    idle += BACKGROUND_BATCH_QUIET
                    if idle >= BACKGROUND_IDLE_SECONDS:
                        connections.close_all()  # this thread's: give the connection back
            except Exception:  # keep watching; what could not go out is the relay's
                logger.exception("Outbox watcher failed; it carries on")

    def _until_quiet(self) -> float:
        """Seconds the watcher sleeps: until the waiting batch is due (at least 1 ms), so
        the last events of a burst go out BACKGROUND_BATCH_QUIET after it, not up to
        twice that as with a fixed beat."""
        if not self._pending:
            return BACKGROUND_BATCH_QUIET
        return max(0.001, self._idle_due_at() - time.monotonic())

    def _idle_due_at(self) -> float:
        """When the watcher takes the waiting events: once no event has come for
        BACKGROUND_BATCH_QUIET (traffic stopped), or the oldest has waited twice
        BACKGROUND_BATCH_WAIT."""
        return min(
            self._last_at + BACKGROUND_BATCH_QUIET, self._first_at + 2 * BACKGROUND_BATCH_WAIT
        )


_background = _BackgroundPublisher()


def flush_background(timeout: float = 10.0) -> bool:
    """Deliver what this process is holding (tests, benchmarks, exit)."""
    return _background.flush(timeout)


def wait_for_background(timeout: float = 10.0) -> bool:
    """Wait until the watcher thread has delivered what this process held (benchmarks)."""
    return _background.wait(timeout)


def _deliver_between_requests(**kwargs) -> None:
    if getattr(settings, "EVENTS_DELIVERY", "thread") == "thread":
        _background.deliver_if_due()


# After each response: a busy worker delivers between its requests (see above).
request_finished.connect(_deliver_between_requests, dispatch_uid="events-after-response")
# A worker that stops cleanly delivers what it holds first; one that is killed leaves it
# to the relay.
atexit.register(flush_background, 5.0)


def publish_events(event_ids) -> int:
    """Hand on these events if still unpublished; return how many went out."""
    event_ids = list(event_ids)
    if not settings.EVENTS_SNS_TOPIC_ARN:
        return sum(
            deliver_batch(event_ids[i : i + RELAY_BATCH])
            for i in range(0, len(event_ids), RELAY_BATCH)
        )
    published = 0
    for event in OutboxEvent.objects.filter(pk__in=event_ids, published_at__isnull=True):
        try:
            published += _publish_to_sns(event)
        except Exception as error:  # the relay will try again
            logger.warning("Could not publish event %s (%s): %s", event.pk, event.type, error)
            OutboxEvent.objects.filter(pk=event.pk).update(
                publish_attempts=F("publish_attempts") + 1, last_error=str(error)[:2000]
            )
    return published


def _publish_to_sns(event: OutboxEvent) -> int:
    from events import aws

    aws.publish_to_sns(event)
    OutboxEvent.objects.filter(pk=event.pk).update(published_at=timezone.now())
    return 1


def deliver_batch(event_ids) -> int:
    """Deliver these events, if still unpublished, to the in-process subscribers.

    One transaction claims the events (marks them published) and hands each subscriber its
    share in one go (`process_batch`, under a savepoint): about ten statements for the whole
    batch, whatever its size. A delivery that succeeds leaves its ProcessedEvent row as its
    record; only a failed one gets a `Delivery`. A subscriber that fails on the batch has
    its share rolled back and a pending delivery recorded per event; after the commit they
    are tried one by one (`attempt_delivery`), so only the events it really fails on are
    retried with backoff and dead-lettered, and the others are delivered once. Nothing is
    claimed without its processing or its pending delivery in the same commit: a process
    that dies half-way leaves them to the relay (unpublished events, or pending deliveries
    that are due).
    """
    # Read before the transaction: on SQLite it holds the database's only write lock, and
    # the other workers' requests wait for it. The claim below settles who delivers.
    events = list(
        OutboxEvent.objects.filter(pk__any_of=event_ids, published_at__isnull=True)
        .order_by("occurred_at")
        .values_list("id", "type", "version", "occurred_at", "data")
    )
    if not events:
        return 0
    envelopes, db_ids = _envelopes(events)
    now = timezone.now()
    retry = []
    with transaction.atomic():
        claimed = _claim(list(db_ids.values()), now)
        if len(claimed) < len(envelopes):  # the relay took some in the meantime
            envelopes = [e for e in envelopes if db_ids[e["id"]] in claimed]
        for subscriber in registry.subscribers():
            share = [e for e in envelopes if subscriber.wants(e["type"])]
            if not share:
                continue
            share_ids = [db_ids[e["id"]] for e in share]
            try:
                with transaction.atomic():
                    process_batch(subscriber, share, db_ids=share_ids)
            except Exception as error:
                logger.warning(
                    "Subscriber %s failed on a batch of %d events, trying them one by one: %s",
                    subscriber.name,
                    len(share),
                    error,
                )
                _record_pending_deliveries(subscriber.name, share_ids, now)
                retry.append((subscriber.name, [e["id"] for e in share]))
    for name, ids in retry:
        for delivery in Delivery.objects.filter(subscriber=name, event_id__in=ids).select_related(
            "event"
        ):
            attempt_delivery(delivery)
    return len(envelopes)


def _claim(db_ids: list, now) -> set:
    """Mark these events published if nobody has yet; the ids (as stored) this call took.

    One `UPDATE ... RETURNING`: two deliverers (this process and the relay) that read the
    same events both try, and each event goes to the one whose update found it unpublished.
    """
    if not connection.features.can_return_rows_from_bulk_insert:  # SQLite before 3.35
        claim = OutboxEvent.objects.filter(pk__any_of=db_ids, published_at__isnull=True)
        ids = set(claim.values_list("pk", flat=True))
        OutboxEvent.objects.filter(pk__any_of=ids).update(published_at=now)
        return {_stored_id(pk) for pk in ids}
    quote = connection.ops.quote_name
    matching, ids = in_values(connection, db_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(OutboxEvent._meta.db_table)} SET published_at = %s "  # noqa: S608
            f"WHERE id {matching} AND published_at IS NULL RETURNING id",
            [connection.ops.adapt_datetimefield_value(now), *ids],
        )
        return {event_id for (event_id,) in cursor.fetchall()}


def _envelopes(events) -> tuple[list[dict], dict]:
    """The envelopes of these outbox rows, and each id as the database stores it (worked
    out once per batch: converting ids was a fifth of a batch's time)."""
    envelopes, db_ids = [], {}
    for pk, kind, version, at, data in events:
        envelopes.append(
            {"id": str(pk), "type": kind, "version": version, "occurred_at": at.isoformat(),
             "data": data}
        )  # fmt: skip
        db_ids[envelopes[-1]["id"]] = _stored_id(pk)
    return envelopes, db_ids


def _stored_id(event_id):
    """An event id as the database stores it (hex text on SQLite, uuid on PostgreSQL)."""
    return OutboxEvent._meta.pk.get_db_prep_value(event_id, connection)


def _record_pending_deliveries(subscriber: str, db_ids: list, now) -> None:
    """A pending `Delivery` per event to `subscriber`, inserted set-based from the outbox."""
    quote, at = connection.ops.quote_name, connection.ops.adapt_datetimefield_value(now)
    matching, ids = in_values(connection, db_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(Delivery._meta.db_table)} (event_id, subscriber, status, "  # noqa: S608
            "attempts, next_attempt_at, last_error, created_at, updated_at) "
            f"SELECT id, %s, %s, 0, %s, '', %s, %s FROM {quote(OutboxEvent._meta.db_table)} "
            f"WHERE id {matching}",
            [subscriber, Delivery.Status.PENDING, at, at, at, *ids],
        )


def _mark_processed(subscriber: str, envelopes: list[dict], db_ids: list) -> set[str]:
    """Record these events as processed by `subscriber`; return the ids that were new.

    One insert that skips the ids already there (a redelivery), returning those it wrote.
    """
    if not connection.features.can_return_rows_from_bulk_insert:  # SQLite before 3.35
        known = ProcessedEvent.objects.filter(
            subscriber=subscriber, event_id__in=[e["id"] for e in envelopes]
        ).values_list("event_id", flat=True)
        fresh = {e["id"] for e in envelopes} - {str(event_id) for event_id in known}
        ProcessedEvent.objects.bulk_create(
            ProcessedEvent(subscriber=subscriber, event_id=event_id) for event_id in fresh
        )
        return fresh
    quote = connection.ops.quote_name
    id_of = {db_id: e["id"] for db_id, e in zip(db_ids, envelopes, strict=True)}
    matching, ids = in_values(connection, db_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(ProcessedEvent._meta.db_table)} "  # noqa: S608
            "(subscriber, event_id, processed_at) "
            f"SELECT %s, id, %s FROM {quote(OutboxEvent._meta.db_table)} WHERE id {matching} "
            "ON CONFLICT (subscriber, event_id) DO NOTHING RETURNING event_id",
            [subscriber, connection.ops.adapt_datetimefield_value(timezone.now()), *ids],
        )
        return {id_of[event_id] for (event_id,) in cursor.fetchall()}


def process_batch(subscriber: registry.Subscriber, envelopes: list[dict], *, db_ids=None) -> int:
    """Run the subscriber on those of these events it has not processed yet; how many.

    Call it inside a transaction: the ProcessedEvent rows and the subscriber's work commit
    (or roll back) together, as in `process_event`. The events must be in the outbox.
    `db_ids`: the envelopes' ids as the database stores them, if the caller has them.
    """
    if db_ids is None:
        db_ids = [_stored_id(e["id"]) for e in envelopes]
    fresh_ids = _mark_processed(subscriber.name, envelopes, db_ids)
    fresh = [e for e in envelopes if e["id"] in fresh_ids]
    if not fresh:
        return 0
    handle_batch = subscriber.batch_handler
    if handle_batch is not None:
        handle_batch(fresh)
    else:
        for envelope in fresh:
            subscriber.handler(envelope)
    return len(fresh)


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


def relay_events(*, seconds: float | None = None) -> dict:
    """Publish what is unpublished and retry deliveries that are due, RELAY_BATCH at a
    time, batch after batch until nothing is left or the pass has used its time (`seconds`,
    else settings.EVENTS_RELAY_SECONDS; on Lambda also what the invocation has left, see
    `events.aws.relay_on_schedule`): a backlog drains in as few scheduled passes as its
    size needs. A batch is never cut short by the time. An event that fails to go out (SNS
    down) is left to the next pass, not tried again in this one. Safe to run anywhere, and
    several at once (each event is claimed by one).
    """
    budget = settings.EVENTS_RELAY_SECONDS if seconds is None else seconds
    deadline = time.monotonic() + budget
    published, stuck = 0, set()
    while True:
        pending = OutboxEvent.objects.filter(published_at__isnull=True)
        if stuck:
            pending = pending.exclude(pk__any_of=list(stuck))
        batch = list(pending.order_by("occurred_at").values_list("pk", flat=True)[:RELAY_BATCH])
        if not batch:
            break
        went = publish_events(batch)
        published += went
        if went < len(batch):  # failed ones stay unpublished (others took the rest)
            left = OutboxEvent.objects.filter(pk__any_of=batch, published_at__isnull=True)
            stuck.update(left.values_list("pk", flat=True))
        if len(stuck) >= RELAY_BATCH or time.monotonic() >= deadline:
            break
    retried = delivered = 0
    now, after = timezone.now(), None
    while True:  # one batch at least, whatever the time: retries are not starved
        due = Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
        if after is not None:
            due = due.filter(pk__gt=after)
        batch = list(due.select_related("event").order_by("pk")[:RELAY_BATCH])
        for delivery in batch:
            retried += 1
            delivered += attempt_delivery(delivery)
        if len(batch) < RELAY_BATCH or time.monotonic() >= deadline:
            break
        after = batch[-1].pk
    return {"published": published, "retried": retried, "delivered": delivered}
