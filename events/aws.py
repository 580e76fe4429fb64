"""The AWS side of events: publish to SNS, and the SQS entry point for subscribers.

Each subscriber has its own queue, named `<anything>-<subscriber>` (e.g.
`wildrydes-dev-events-bi`), subscribed to the topic with a filter policy on the
`event_type` message attribute. Zappa hands the queue's records to `handle_sqs_event`.
"""

import json
import logging
import uuid
from datetime import UTC, datetime

from django.conf import settings
from django.db import connections

from core.observability import count_metric
from events import registry, services
from events.models import OutboxEvent

logger = logging.getLogger(__name__)

# The type a dead letter gets when its SQS body was not one of our events.
UNREADABLE_TYPE = "sqs.UnreadableMessage"

# SNS is called right after the commit of the request that made the change. An SNS that
# is slow or out of reach (a Lambda in a VPC without a route to it) must not hold that
# request: botocore's defaults (60 s to connect, 60 s to read, 5 tries) outlast API
# Gateway's 29 s and Lambda's timeout. What does not go out stays in the outbox for the relay.
SNS_CLIENT_CONFIG = {
    "connect_timeout": 1,
    "read_timeout": 2,
    "retries": {"mode": "standard", "total_max_attempts": 2},
}


def _client(service: str, config: dict | None = None):
    import boto3  # provided by the Lambda runtime; imported only when AWS is in use
    from botocore.config import Config

    return boto3.client(
        service, region_name=settings.AWS_REGION, config=Config(**config) if config else None
    )


def publish_to_sns(event: OutboxEvent) -> None:
    _client("sns", SNS_CLIENT_CONFIG).publish(
        TopicArn=settings.EVENTS_SNS_TOPIC_ARN,
        Message=json.dumps(event.envelope()),
        MessageAttributes={"event_type": {"DataType": "String", "StringValue": event.type}},
    )


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
    """Process a batch; report only the failed messages so SQS retries just those."""
    _retire_stale_connections()
    failures = []
    try:
        for record in event.get("Records", []):
            try:
                _handle_record(record)
            except Exception:
                logger.exception("Subscriber failed on SQS message %s", record.get("messageId"))
                failures.append({"itemIdentifier": record["messageId"]})
    finally:
        _retire_stale_connections()
    return {"batchItemFailures": failures}


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


def _handle_record(record: dict) -> None:
    """Process one message. Whatever fails (an unreadable body, an event type the
    subscriber does not know, the subscriber itself) is reported to SQS for another try,
    and kept as a dead letter operators can read and replay after the last one."""
    subscriber = subscriber_for_queue(record["eventSourceARN"])
    attempts = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
    envelope = None
    try:
        envelope = envelope_from_body(record["body"])
        services.process_event(subscriber, envelope)
    except Exception as error:
        envelope = envelope or unreadable_envelope(record, error)
        if attempts >= settings.EVENTS_MAX_ATTEMPTS:
            services.record_dead_letter(
                subscriber=subscriber.name, envelope=envelope, error=repr(error), attempts=attempts
            )
        raise


def is_sqs_event(event: dict) -> bool:
    records = event.get("Records") or []
    return bool(records) and records[0].get("eventSource") == "aws:sqs"


# Seconds a relay pass leaves of its Lambda invocation for the batch it is in and to return.
RELAY_MARGIN_SECONDS = 10.0


def relay_on_schedule(event: dict, context=None) -> dict:
    """The scheduled Zappa event: publish whatever the outbox still holds, for as long as
    EVENTS_RELAY_SECONDS and the invocation's remaining time allow."""
    seconds = settings.EVENTS_RELAY_SECONDS
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        left = context.get_remaining_time_in_millis() / 1000 - RELAY_MARGIN_SECONDS
        seconds = max(0.0, min(seconds, left))
    result = services.relay_events(seconds=seconds)
    report_outbox_age()
    return result


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
