"""The AWS entry points of events: the SQS queues' batches, and the scheduled relay.

Each subscriber has its own queue, named `<anything>-<subscriber>` (e.g.
`wildrydes-dev-events-bi`), subscribed to the topic (events.sns) with a filter policy on
the `event_type` message attribute. Zappa hands the queue's records to `handle_sqs_event`.
"""

import json
import logging
import uuid
from datetime import UTC, datetime

from django.conf import settings
from django.db import connections

from core.observability import count_metric
from events import delivery, registry, relay
from events.models import OutboxEvent

logger = logging.getLogger(__name__)

# The type a dead letter gets when its SQS body was not one of our events.
UNREADABLE_TYPE = "sqs.UnreadableMessage"


def subscriber_for_queue(queue_arn: str) -> registry.Subscriber:
    queue_name = queue_arn.rsplit(":", 1)[-1]
    return registry.subscriber(queue_name.rsplit("-", 1)[-1])


class UnreadableMessage(ValueError):
    """An SQS body that is not one of our events (not JSON, or not an event envelope)."""


ENVELOPE_KEYS = {"id": str, "type": str, "occurred_at": str, "data": dict}


def envelope_from_body(body: str) -> dict:
    """The event from an SQS body: an SNS notification, or the raw message.

    Raises UnreadableMessage for anything else, e.g. a test message someone sent to the
    queue by hand."""
    try:
        message = json.loads(body)
        if isinstance(message, dict) and message.get("Type") == "Notification":
            message = json.loads(message["Message"])
    except (TypeError, KeyError, ValueError) as error:
        raise UnreadableMessage(f"The message is not JSON: {error}") from None
    if not isinstance(message, dict):
        raise UnreadableMessage("The message is not a JSON object.")
    wrong = sorted(k for k, kind in ENVELOPE_KEYS.items() if not isinstance(message.get(k), kind))
    if wrong:
        raise UnreadableMessage(f"The message is not an event envelope (bad {', '.join(wrong)}).")
    try:
        uuid.UUID(message["id"])
        datetime.fromisoformat(message["occurred_at"])
    except ValueError as error:
        raise UnreadableMessage(f"The message is not an event envelope: {error}") from None
    return message


def unreadable_envelope(record: dict, error: Exception) -> dict:
    """What an unreadable message is kept as among the dead letters: an envelope of its own
    (the same for every delivery of the message), holding the body as it came."""
    sent = int(record.get("attributes", {}).get("SentTimestamp", "0")) / 1000
    return {
        "id": str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"{record.get('eventSourceARN')}#{record['messageId']}")
        ),
        "type": UNREADABLE_TYPE,
        "version": 1,
        "occurred_at": datetime.fromtimestamp(sent, tz=UTC).isoformat(),
        "data": {
            "queue": record.get("eventSourceARN", ""),
            "message_id": record["messageId"],
            "body": record.get("body", ""),
            "error": str(error),
        },
    }


def handle_sqs_event(event: dict, context=None) -> dict:
    """Process a batch of SQS messages as one batch; report only the failed messages
    (partial batch response), so SQS retries just those.

    The readable events go to their subscriber together (`delivery.deliver_to`: one
    transaction for the batch; if that fails, one per event), so a poisoned message fails
    alone and its neighbours are delivered. A message SQS hands out again, even twice in
    the same batch, changes nothing (the subscriber runs once per event id). Whatever fails
    (an unreadable body, an event type the subscriber does not know, the subscriber itself)
    is kept, after its last try, as a dead letter operators can read and replay.
    """
    _retire_stale_connections()
    try:
        failed = _handle_records(event.get("Records", []))
    finally:
        _retire_stale_connections()
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


def _handle_records(records: list[dict]) -> list[str]:
    """The ids of the messages that failed, in the batch's order."""
    failed = set()
    batches: dict[registry.Subscriber, list[tuple[dict, dict]]] = {}
    for record in records:
        try:
            subscriber = subscriber_for_queue(record["eventSourceARN"])
        except LookupError:
            logger.exception("SQS message %s is from no subscriber's queue", record["messageId"])
            failed.add(record["messageId"])
            continue
        try:
            batches.setdefault(subscriber, []).append((record, envelope_from_body(record["body"])))
        except UnreadableMessage as error:
            _failed(subscriber, record, unreadable_envelope(record, error), error)
            failed.add(record["messageId"])
    for subscriber, messages in batches.items():
        errors = delivery.deliver_to(subscriber, [envelope for _, envelope in messages])
        for record, envelope in messages:
            if envelope["id"] in errors:
                _failed(subscriber, record, envelope, errors[envelope["id"]])
                failed.add(record["messageId"])
    return [record["messageId"] for record in records if record["messageId"] in failed]


def _failed(subscriber: registry.Subscriber, record: dict, envelope: dict, error: Exception):
    """Log a message that failed; after its last try keep it as a dead letter (SQS then
    moves it to the queue's dead-letter queue)."""
    logger.error(
        "Subscriber %s failed on SQS message %s: %r", subscriber.name, record["messageId"], error
    )
    attempts = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
    if attempts < settings.EVENTS_MAX_ATTEMPTS:
        return
    try:
        delivery.record_dead_letter(
            subscriber=subscriber.name, envelope=envelope, error=repr(error), attempts=attempts
        )
    except Exception:  # the database, most likely: the message is still in the DLQ
        logger.exception("Could not keep SQS message %s as a dead letter", record["messageId"])


def _retire_stale_connections() -> None:
    """What Django does around each HTTP request, which a queue invocation is not.

    The Lambda container keeps its database connection between invocations
    (CONN_MAX_AGE); without this, one the server has dropped while the container was
    frozen is never health-checked or replaced, and every batch after it fails.
    `django.db.close_old_connections`, except that it leaves alone a connection in the
    middle of a caller's transaction (never the case on Lambda; in a test, it is).
    """
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()


def is_sqs_event(event: dict) -> bool:
    records = event.get("Records") or []
    return bool(records) and records[0].get("eventSource") == "aws:sqs"


# Seconds a relay pass leaves of its Lambda invocation for the batch it is in and to return.
RELAY_MARGIN_SECONDS = 10.0


def relay_on_schedule(event: dict, context=None) -> dict:
    """The scheduled Zappa event: publish whatever the outbox still holds, for as long as
    EVENTS_RELAY_SECONDS and the invocation's remaining time allow; then the housekeeping
    that rides on this minute's pass (Idempotency-Key answers past their retention)."""
    seconds = settings.EVENTS_RELAY_SECONDS
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        left = context.get_remaining_time_in_millis() / 1000 - RELAY_MARGIN_SECONDS
        seconds = max(0.0, min(seconds, left))
    result = relay.relay_events(seconds=seconds)
    report_outbox_age()
    # Imported here: core.idempotency loads DRF, which the queue handlers do without.
    from core.idempotency import purge_expired_records

    return {**result, "idempotency_records_purged": purge_expired_records()}


def report_outbox_age() -> None:
    """The age of the oldest event still to publish (0 when none waits), as the metric the
    stage's outbox-age alarm watches (deploy/infrastructure.py)."""
    oldest = (
        OutboxEvent.objects.filter(published_at__isnull=True)
        .order_by("occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
    )
    age = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
    count_metric("OutboxOldestAgeSeconds", round(max(age, 0.0), 1), unit="Seconds")
