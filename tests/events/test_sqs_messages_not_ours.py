"""What the SQS entry point does with a message it cannot handle: a body that is not one of
our events, or an event type the subscriber does not take. Never dropped, never a crash:
reported to SQS for another try (batchItemFailures) and, after the last try, kept as a
dead letter operators can read."""

import json
import uuid

import pytest
from django.utils import timezone

from bi import subscribers as bi_subscribers
from events import aws, delivery
from events.models import DeadLetter, Delivery, ProcessedEvent
from events.registry import UnknownEventType
from notifications import subscribers as notification_subscribers
from notifications.models import Notification

pytestmark = pytest.mark.django_db

MAX_ATTEMPTS = 3
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:wildrydes-dev-events-{}"
SUBSCRIBER_MODULES = {"bi": bi_subscribers, "notifications": notification_subscribers}


@pytest.fixture(autouse=True)
def _max_attempts(settings):
    settings.EVENTS_MAX_ATTEMPTS = MAX_ATTEMPTS


def sqs_event(subscriber: str, body: str, *, attempt: int = 1, message_id: str = "") -> dict:
    """One record as Lambda's event source mapping hands it over."""
    return {
        "Records": [
            {
                "messageId": message_id or str(uuid.uuid4()),
                "receiptHandle": "handle",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": str(attempt),
                    "SentTimestamp": "1795568400000",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1795568400001",
                },
                "messageAttributes": {},
                "md5OfBody": "not-checked",
                "eventSource": "aws:sqs",
                "eventSourceARN": QUEUE_ARN.format(subscriber),
                "awsRegion": "us-east-1",
            }
        ]
    }


def envelope(event_type: str, **data) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "type": event_type,
        "version": 1,
        "occurred_at": timezone.now().isoformat(),
        "data": data,
    }


def sns_notification(message: dict) -> str:
    """The body SNS puts in the queue (raw message delivery off)."""
    return json.dumps({"Type": "Notification", "Message": json.dumps(message)})


def failed_ids(result: dict) -> list[str]:
    return [failure["itemIdentifier"] for failure in result["batchItemFailures"]]


NOT_OURS = {
    "not JSON": "Hello from SQS!",
    "JSON, not an event": json.dumps({"message": "foo1"}),
    "a JSON list": "[1, 2]",
    "an event without an id": json.dumps({"type": "payments.PaymentRegistered", "data": {}}),
    "SNS wrapping plain text": json.dumps({"Type": "Notification", "Message": "hi"}),
}


@pytest.mark.parametrize("body", NOT_OURS.values(), ids=NOT_OURS.keys())
def test_message_that_is_not_an_event_is_reported_then_kept_as_a_dead_letter(body):
    message_id = str(uuid.uuid4())
    for attempt in range(1, MAX_ATTEMPTS):
        event = sqs_event("notifications", body, attempt=attempt, message_id=message_id)
        assert failed_ids(aws.handle_sqs_event(event)) == [message_id]
        assert not DeadLetter.objects.exists()

    last = sqs_event("notifications", body, attempt=MAX_ATTEMPTS, message_id=message_id)
    assert failed_ids(aws.handle_sqs_event(last)) == [message_id]

    dead = DeadLetter.objects.get()
    assert (dead.subscriber, dead.status, dead.attempts) == (
        "notifications",
        Delivery.Status.DEAD,
        MAX_ATTEMPTS,
    )
    assert dead.event.type == aws.UNREADABLE_TYPE
    assert dead.event.data["body"] == body  # what came, for the operator to read
    assert dead.event.data["message_id"] == message_id
    assert "UnreadableMessage" in dead.last_error


def test_unreadable_message_delivered_again_is_still_one_dead_letter():
    message_id = str(uuid.uuid4())
    for _ in range(2):
        event = sqs_event("bi", "Test message.", attempt=MAX_ATTEMPTS, message_id=message_id)
        assert failed_ids(aws.handle_sqs_event(event)) == [message_id]
    assert DeadLetter.objects.count() == 1


@pytest.mark.parametrize("subscriber", ["bi", "notifications"])
def test_event_type_the_subscriber_does_not_take_is_reported_then_dead_lettered(subscriber):
    unknown = envelope("payments.PaymentRefunded", amount_minor=100, currency="USD")
    body = sns_notification(unknown)

    early = sqs_event(subscriber, body, attempt=1)
    assert failed_ids(aws.handle_sqs_event(early)) == [early["Records"][0]["messageId"]]
    assert not DeadLetter.objects.exists()

    last = sqs_event(subscriber, body, attempt=MAX_ATTEMPTS)
    assert failed_ids(aws.handle_sqs_event(last)) == [last["Records"][0]["messageId"]]
    dead = DeadLetter.objects.get()
    assert (str(dead.event_id), dead.subscriber) == (unknown["id"], subscriber)
    assert dead.event.type == "payments.PaymentRefunded"
    assert "does not handle payments.PaymentRefunded" in dead.last_error
    assert "KeyError" not in dead.last_error
    assert not ProcessedEvent.objects.exists()  # not marked as handled

    # A replay runs the subscriber again: it still refuses, and the letter stays dead.
    assert delivery.replay_dead_letter(dead) is False
    dead.refresh_from_db()
    assert dead.status == Delivery.Status.DEAD


@pytest.mark.parametrize("subscriber", ["bi", "notifications"])
def test_both_subscribers_refuse_an_unknown_event_type_alike(subscriber, rider):
    """Even with nobody to notify (no payer), notifications does not swallow it."""
    handle_event = SUBSCRIBER_MODULES[subscriber].handle_event
    with pytest.raises(UnknownEventType, match=f"The {subscriber} subscriber does not handle"):
        handle_event(envelope("rides.RideTeleported"))
    with pytest.raises(UnknownEventType):
        handle_event(envelope("rides.RideTeleported", payer_id=rider.pk, amount_minor=1))
    assert not Notification.objects.exists()


def test_batch_with_one_message_not_ours_still_delivers_the_others(rider):
    good = envelope(
        "payments.PaymentRegistered",
        payer_id=rider.pk,
        amount_minor=1250,
        currency="USD",
        reference="INV-1",
    )
    event = sqs_event("notifications", sns_notification(good))
    garbage = sqs_event("notifications", "Hello from SQS!")["Records"][0]
    event["Records"].append(garbage)

    assert failed_ids(aws.handle_sqs_event(event)) == [garbage["messageId"]]
    assert Notification.objects.get().user == rider
