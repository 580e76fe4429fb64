"""An SQS batch as Lambda hands it over (the SAM CLI's sample record, tests/package/events)
is processed as one batch: the subscriber gets the readable events together, a poisoned
message fails alone (batchItemFailures), and a message delivered twice changes nothing."""

import copy
import json
import uuid
from pathlib import Path
from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from events import aws, delivery
from events.models import ProcessedEvent
from notifications import subscribers
from notifications.models import Notification
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SAM_EVENT = Path(__file__).parent.parent / "package/events/sam/sqs-hello-on-bi-queue.json"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:wildrydes-dev-events-{}"


def sam_record(body: str, *, subscriber: str = "notifications", attempt: int = 1) -> dict:
    """The SAM CLI's SQS record with this body, on this subscriber's queue."""
    [record] = json.loads(SAM_EVENT.read_text())["Records"]
    record = copy.deepcopy(record)
    record.update(messageId=str(uuid.uuid4()), body=body)
    record["eventSourceARN"] = QUEUE_ARN.format(subscriber)
    record["attributes"]["ApproximateReceiveCount"] = str(attempt)
    return record


def payment_registered(payer, reference: str) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "type": "payments.PaymentRegistered",
        "version": 1,
        "occurred_at": timezone.now().isoformat(),
        "data": {"reference": reference, "amount_minor": 1250, "currency": "USD",
                 "payer_id": payer.pk, "ride_id": None},
    }  # fmt: skip


def sns_body(envelope: dict) -> str:
    return json.dumps({"Type": "Notification", "Message": json.dumps(envelope)})


def batch(*records) -> dict:
    return {"Records": list(records)}


def failed_ids(result: dict) -> list[str]:
    return [failure["itemIdentifier"] for failure in result["batchItemFailures"]]


def test_the_readable_messages_of_a_batch_reach_the_subscriber_together():
    riders = [UserFactory() for _ in range(10)]
    records = [
        sam_record(sns_body(payment_registered(r, f"INV-{i}"))) for i, r in enumerate(riders)
    ]

    with mock.patch.object(subscribers, "handle_batch", wraps=subscribers.handle_batch) as handle:
        assert failed_ids(aws.handle_sqs_event(batch(*records))) == []

    assert handle.call_count == 1 and len(handle.call_args.args[0]) == 10
    assert Notification.objects.count() == 10
    assert ProcessedEvent.objects.filter(subscriber="notifications").count() == 10


def test_a_batch_costs_the_same_statements_for_two_messages_or_ten():
    def statements(count: int) -> int:
        riders = [UserFactory() for _ in range(count)]
        records = [
            sam_record(sns_body(payment_registered(r, f"C{count}-{i}")))
            for i, r in enumerate(riders)
        ]
        with CaptureQueriesContext(connection) as queries:
            assert failed_ids(aws.handle_sqs_event(batch(*records))) == []
        return len(queries)

    assert statements(2) == statements(10)


def test_a_poisoned_message_fails_alone_and_its_neighbours_are_delivered():
    riders = [UserFactory() for _ in range(4)]
    records = [
        sam_record(sns_body(payment_registered(r, f"INV-{i}"))) for i, r in enumerate(riders)
    ]
    real = subscribers.payment_message

    def payment_message(event_type, data, **kwargs):
        if data["reference"] == "INV-2":
            raise ValueError("boom")
        return real(event_type, data, **kwargs)

    with mock.patch.object(subscribers, "payment_message", payment_message):
        result = aws.handle_sqs_event(batch(*records))

    assert failed_ids(result) == [records[2]["messageId"]]
    assert sorted(Notification.objects.values_list("user", flat=True)) == sorted(
        r.pk for i, r in enumerate(riders) if i != 2
    )
    poisoned = json.loads(json.loads(records[2]["body"])["Message"])["id"]
    assert not ProcessedEvent.objects.filter(event_id=poisoned).exists()  # SQS retries it

    assert failed_ids(aws.handle_sqs_event(batch(records[2]))) == []  # the retry, mended
    assert Notification.objects.count() == 4


def test_a_message_delivered_twice_even_in_one_batch_changes_nothing():
    rider = UserFactory()
    body = sns_body(payment_registered(rider, "INV-1"))
    first, again = sam_record(body), sam_record(body, attempt=2)

    assert failed_ids(aws.handle_sqs_event(batch(first, again))) == []
    assert failed_ids(aws.handle_sqs_event(batch(again))) == []

    assert Notification.objects.filter(user=rider).count() == 1
    assert ProcessedEvent.objects.filter(subscriber="notifications").count() == 1


def test_the_sam_sample_message_fails_alone_beside_real_events(settings):
    settings.EVENTS_MAX_ATTEMPTS = 3
    rider = UserFactory()
    [hello] = json.loads(SAM_EVENT.read_text())["Records"]  # "Hello from SQS!" on bi's queue
    good = sam_record(sns_body(payment_registered(rider, "INV-1")), subscriber="bi")

    assert failed_ids(aws.handle_sqs_event(batch(hello, good))) == [hello["messageId"]]
    assert ProcessedEvent.objects.filter(subscriber="bi").count() == 1


def test_a_dead_letter_that_cannot_be_written_still_fails_only_its_message(settings):
    settings.EVENTS_MAX_ATTEMPTS = 3
    rider = UserFactory()
    garbage = sam_record("Hello from SQS!", attempt=3)  # its last try
    good = sam_record(sns_body(payment_registered(rider, "INV-1")))
    gone = OperationalError("the database went away")

    with mock.patch.object(delivery, "record_dead_letter", side_effect=gone):
        result = aws.handle_sqs_event(batch(garbage, good))

    assert failed_ids(result) == [garbage["messageId"]]  # SQS moves it to the DLQ
    assert Notification.objects.filter(user=rider).count() == 1
