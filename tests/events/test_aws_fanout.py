"""The AWS delivery path, against moto: SNS fan-out by `event_type`, one SQS queue per
subscriber, the Lambda SQS entry point with partial batch failures, and the queue's DLQ.

Lambda's SQS event source mapping is played by `deliver()`: receive from the queue, hand
the records to `events.aws.handle_sqs_event` exactly as Lambda does, and delete only the
messages it did not report as failed (ReportBatchItemFailures).
"""

import json
import socket
from unittest import mock

import boto3
import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.utils import timezone
from moto import mock_aws

from bi.models import DailyAggregate
from events import aws, delivery, outbox, relay, sns
from events.models import DeadLetter, Delivery, OutboxEvent, ProcessedEvent
from notifications import subscribers as notification_subscribers
from notifications.models import Notification
from payments import services as payments
from rides import services as rides
from tests.aws.moto_stack import sqs_lambda_event
from tests.factories import RideFactory, UnicornFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
PREFIX = "wildrydes-test-events"
SUBSCRIBERS = ("bi", "notifications")
MAX_ATTEMPTS = 3


class Fanout:
    """The topic, and per subscriber a queue (with a redrive policy) and its DLQ."""

    def __init__(self, raw_delivery: bool):
        self.raw_delivery = raw_delivery
        self.sns = boto3.client("sns", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.topic_arn = self.sns.create_topic(Name=PREFIX)["TopicArn"]
        self.queue_urls, self.dlq_urls = {}, {}
        for name in SUBSCRIBERS:
            dlq_url = self.sqs.create_queue(QueueName=f"{PREFIX}-{name}-dlq")["QueueUrl"]
            redrive = {
                "deadLetterTargetArn": self.arn(f"{PREFIX}-{name}-dlq"),
                "maxReceiveCount": str(django_settings.EVENTS_MAX_ATTEMPTS),
            }
            queue_url = self.sqs.create_queue(
                QueueName=self.queue_name(name),
                Attributes={"RedrivePolicy": json.dumps(redrive)},
            )["QueueUrl"]
            types = django_settings.EVENT_SUBSCRIBERS[name]["types"]
            self.sns.subscribe(
                TopicArn=self.topic_arn,
                Protocol="sqs",
                Endpoint=self.arn(self.queue_name(name)),
                Attributes={
                    "FilterPolicy": json.dumps({"event_type": list(types)}),
                    "RawMessageDelivery": "true" if raw_delivery else "false",
                },
            )
            self.queue_urls[name], self.dlq_urls[name] = queue_url, dlq_url

    @staticmethod
    def queue_name(subscriber: str) -> str:
        return f"{PREFIX}-{subscriber}"

    @staticmethod
    def arn(queue_name: str) -> str:
        return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue_name}"

    def receive(self, subscriber: str, *, dlq=False, visibility_timeout=30) -> list[dict]:
        """What is visible in the queue. With visibility_timeout=0 (the message is visible
        again at once, as if its timeout had passed) one call, else a few: SQS may return
        fewer messages per call than it has."""
        url = (self.dlq_urls if dlq else self.queue_urls)[subscriber]
        messages = []
        for _ in range(3 if visibility_timeout else 1):
            batch = self.sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=visibility_timeout,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            messages += batch
            if not batch:
                break
        return messages

    def waiting(self, subscriber: str) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_urls[subscriber],
            AttributeNames=["ApproximateNumberOfMessages"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])

    def send_raw(self, subscriber: str, body: str) -> None:
        self.sqs.send_message(QueueUrl=self.queue_urls[subscriber], MessageBody=body)

    def lambda_event(self, subscriber: str, messages: list[dict]) -> dict:
        """The event Lambda's SQS event source mapping (and so Zappa) hands the function."""
        return sqs_lambda_event(self.arn(self.queue_name(subscriber)), messages)

    def deliver(self, subscriber: str, messages: list[dict]) -> list[str]:
        """Run the Lambda on the batch; delete what succeeded; return the failed message ids."""
        event = self.lambda_event(subscriber, messages)
        assert aws.is_sqs_event(event)
        result = aws.handle_sqs_event(event, context=None)
        failed = [failure["itemIdentifier"] for failure in result["batchItemFailures"]]
        for message in messages:
            if message["MessageId"] not in failed:
                self.sqs.delete_message(
                    QueueUrl=self.queue_urls[subscriber], ReceiptHandle=message["ReceiptHandle"]
                )
        return failed

    def deliver_all(self) -> None:
        for name in SUBSCRIBERS:
            assert self.deliver(name, self.receive(name)) == []

    def event_type_of(self, message: dict) -> str:
        """The `event_type` attribute as the subscriber's queue received it."""
        if self.raw_delivery:
            return message["MessageAttributes"]["event_type"]["StringValue"]
        return json.loads(message["Body"])["MessageAttributes"]["event_type"]["Value"]


@pytest.fixture
def moto_aws(aws_credentials, settings):
    settings.AWS_REGION = REGION
    settings.EVENTS_MAX_ATTEMPTS = MAX_ATTEMPTS
    with mock_aws():
        yield


def make_fanout(settings, *, raw_delivery: bool) -> Fanout:
    fanout = Fanout(raw_delivery=raw_delivery)
    settings.EVENTS_SNS_TOPIC_ARN = fanout.topic_arn
    return fanout


@pytest.fixture(params=[False, True], ids=["sns-envelope", "raw-delivery"])
def fanout(request, moto_aws, settings):
    """Both ways SNS can hand messages to SQS; tests about the format use this one."""
    return make_fanout(settings, raw_delivery=request.param)


@pytest.fixture
def queues(moto_aws, settings):
    """Tests about the queues, not the format: SNS's JSON envelope (the default)."""
    return make_fanout(settings, raw_delivery=False)


def register(payer, reference="INV-1", ride=None, amount_minor=1250):
    return payments.register_payment(
        amount_minor=amount_minor,
        currency="USD",
        reference=reference,
        payer=payer,
        ride=ride,
        actor="test",
    )


def rider_with_ride(unicorn="Shadowfax"):
    """A rider and a ride that has just been completed."""
    rider = UserFactory()
    ride = RideFactory(
        rider=rider,
        unicorn=UnicornFactory(name=unicorn),
        status="completed",
        completed_at=timezone.now(),
    )
    return rider, ride


def ride_completed(ride) -> OutboxEvent:
    """The RideCompleted event alone (for BI, and the rider's receipt), committed."""
    with transaction.atomic():
        return outbox.emit(rides.RIDE_COMPLETED, rides.ride_completed_data(ride))


def payment_event(reference="INV-1") -> OutboxEvent:
    return OutboxEvent.objects.get(data__reference=reference)


def envelope_of(message: dict) -> dict:
    return aws.envelope_from_body(message["Body"])


def failing_for(reference):
    """The notifications subscriber, broken for one payment only (in a batch or alone)."""
    real = notification_subscribers.payment_message

    def payment_message(event_type, data, **kwargs):
        if data["reference"] == reference:
            raise ValueError("boom")
        return real(event_type, data, **kwargs)

    return mock.patch.object(notification_subscribers, "payment_message", payment_message)


# --- SNS fan-out ----------------------------------------------------------------------


def test_payment_is_published_to_sns_only_after_commit(fanout):
    rider, ride = rider_with_ride()
    with transaction.atomic():
        register(rider, ride=ride)
        assert fanout.waiting("bi") == fanout.waiting("notifications") == 0

    event = OutboxEvent.objects.get()
    assert event.published_at is not None
    assert (event.publish_attempts, event.last_error) == (0, "")
    assert fanout.waiting("bi") == fanout.waiting("notifications") == 1
    assert not Delivery.objects.exists()  # on AWS the queues do the delivering


def test_filter_policy_sends_each_subscriber_only_its_event_types(fanout):
    rider, ride = rider_with_ride()
    register(rider, ride=ride)
    payment = payment_event()
    ride_event = ride_completed(ride)

    bi, notifications = fanout.receive("bi"), fanout.receive("notifications")

    assert sorted(fanout.event_type_of(m) for m in bi) == [
        "payments.PaymentRegistered",
        "rides.RideCompleted",
    ]
    assert sorted(fanout.event_type_of(m) for m in notifications) == [
        "payments.PaymentRegistered",
        "rides.RideCompleted",
    ]
    assert {envelope_of(m)["id"] for m in bi} == {str(payment.id), str(ride_event.id)}
    assert payment.envelope() in [envelope_of(m) for m in notifications]


# --- The SQS entry point --------------------------------------------------------------


def test_queued_events_reach_bi_and_the_riders_notifications(fanout):
    rider, ride = rider_with_ride()
    register(rider, ride=ride)
    ride_completed(ride)

    fanout.deliver_all()

    notification = Notification.objects.get(user=rider, event_type="payments.PaymentRegistered")
    assert notification.message == "Payment of $12.50 registered for your ride with Shadowfax"
    receipt = Notification.objects.get(user=rider, event_type="rides.RideCompleted")
    assert receipt.message.startswith(f"Receipt for {ride.reference}")
    today = DailyAggregate.objects.get(day=timezone.localdate())
    assert (today.payments_registered, today.payments_registered_minor) == (1, 1250)
    assert (today.rides_completed, today.revenue_minor) == (1, ride.fare_minor)
    assert fanout.receive("bi") == fanout.receive("notifications") == []  # all deleted


def test_redelivered_message_changes_nothing(queues):
    rider, ride = rider_with_ride()
    register(rider, ride=ride)

    first = queues.receive("notifications", visibility_timeout=0)
    again = queues.receive("notifications")  # SQS hands the same message out again
    assert [m["MessageId"] for m in again] == [m["MessageId"] for m in first]
    assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"

    assert queues.deliver("notifications", first) == []
    assert queues.deliver("notifications", again) == []
    assert queues.deliver("notifications", again) == []  # the very same record, once more

    assert Notification.objects.filter(user=rider).count() == 1
    assert ProcessedEvent.objects.filter(subscriber="notifications").count() == 1


def test_batch_reports_only_the_poison_messages(queues):
    good_rider, poisoned_rider = UserFactory(), UserFactory()
    register(good_rider, reference="INV-GOOD")
    register(poisoned_rider, reference="INV-POISON")
    poison = payment_event("INV-POISON")
    queues.send_raw("notifications", "this is not JSON")
    messages = queues.receive("notifications", visibility_timeout=0)
    assert len(messages) == 3
    by_kind = {
        "poison": next(m for m in messages if str(poison.id) in m["Body"]),
        "garbage": next(m for m in messages if m["Body"] == "this is not JSON"),
    }

    with failing_for("INV-POISON"):
        failed = queues.deliver("notifications", messages)

    assert sorted(failed) == sorted(m["MessageId"] for m in by_kind.values())
    assert Notification.objects.get().user == good_rider
    assert not ProcessedEvent.objects.filter(event_id=poison.id).exists()  # rolled back
    assert not DeadLetter.objects.exists()  # not the last attempt yet
    left = queues.receive("notifications")  # only the failures come back for another try
    assert sorted(m["MessageId"] for m in left) == sorted(failed)


# --- Dead letters ---------------------------------------------------------------------


def test_poison_message_ends_in_the_dlq_and_as_a_replayable_dead_letter(queues):
    good_rider, poisoned_rider = UserFactory(), UserFactory()
    register(good_rider, reference="INV-GOOD")
    register(poisoned_rider, reference="INV-POISON")
    poison = payment_event("INV-POISON")

    with failing_for("INV-POISON"):
        for attempt in range(1, MAX_ATTEMPTS + 1):
            assert not DeadLetter.objects.exists()
            messages = queues.receive("notifications", visibility_timeout=0)
            poisoned = [m for m in messages if envelope_of(m)["id"] == str(poison.id)]
            assert len(poisoned) == 1
            assert poisoned[0]["Attributes"]["ApproximateReceiveCount"] == str(attempt)
            assert queues.deliver("notifications", messages) == [poisoned[0]["MessageId"]]

        # One receive too many: SQS moves the message to the DLQ instead of handing it out.
        assert queues.receive("notifications") == []

    [dead_message] = queues.receive("notifications", dlq=True)
    assert envelope_of(dead_message) == poison.envelope()
    assert queues.receive("bi", dlq=True) == []

    dead = DeadLetter.objects.get()
    assert (dead.event_id, dead.subscriber) == (poison.id, "notifications")
    assert (dead.status, dead.attempts) == (Delivery.Status.DEAD, MAX_ATTEMPTS)
    assert "ValueError('boom')" in dead.last_error
    assert Notification.objects.get().user == good_rider

    # The handler is fixed; an operator replays the dead letter (twice: it runs once).
    assert delivery.replay_dead_letter(dead) is True
    assert delivery.replay_dead_letter(dead) is True
    assert Notification.objects.filter(user=poisoned_rider).count() == 1
    dead.refresh_from_db()
    assert dead.status == Delivery.Status.DELIVERED


# --- SNS outage -----------------------------------------------------------------------


class Outage:
    """SNS broken in one way: `error` is what the outbox should record; `end()` mends it."""

    def __init__(self, error, end):
        self.error, self.end = error, end


@pytest.fixture
def closed_port():
    """A loopback port nothing listens on (SNS out of reach)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def black_hole():
    """A loopback port that takes connections and never answers (SNS hanging)."""
    with socket.create_server(("127.0.0.1", 0), backlog=16) as server:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


@pytest.fixture(params=["missing-topic", "unreachable-endpoint", "hanging-endpoint"])
def sns_outage(request, queues, settings, monkeypatch):
    if request.param == "missing-topic":
        settings.EVENTS_SNS_TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:{PREFIX}-gone"
        return Outage(
            "(NotFound) when calling the Publish operation",
            lambda: setattr(settings, "EVENTS_SNS_TOPIC_ARN", queues.topic_arn),
        )
    # Keep the test fast: the production timeouts, scaled down, and no retries.
    fast = {"connect_timeout": 0.3, "read_timeout": 0.3, "retries": {"total_max_attempts": 1}}
    monkeypatch.setattr(sns, "SNS_CLIENT_CONFIG", fast)
    if request.param == "unreachable-endpoint":
        endpoint = request.getfixturevalue("closed_port")
        error = "Could not connect to the endpoint URL"
    else:
        endpoint, error = request.getfixturevalue("black_hole"), "Read timeout on endpoint URL"
    monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", endpoint)
    return Outage(error, lambda: monkeypatch.delenv("AWS_ENDPOINT_URL_SNS"))


def test_relay_publishes_what_sns_refused_once_it_is_back(queues, sns_outage):
    rider, ride = rider_with_ride()
    register(rider, ride=ride)  # committed, even though SNS is down

    event = OutboxEvent.objects.get()
    assert (event.published_at, event.publish_attempts) == (None, 1)
    assert sns_outage.error in event.last_error
    assert queues.waiting("bi") == queues.waiting("notifications") == 0

    assert relay.relay_events()["published"] == 0  # still down
    event.refresh_from_db()
    assert (event.published_at, event.publish_attempts) == (None, 2)

    sns_outage.end()
    assert relay.relay_events()["published"] == 1
    assert relay.relay_events()["published"] == 0  # published once

    event.refresh_from_db()
    assert event.published_at is not None
    queues.deliver_all()
    assert Notification.objects.get(user=rider).event_id == event.id
    assert DailyAggregate.objects.get(day=timezone.localdate()).payments_registered == 1


def test_sns_cannot_hold_the_request_for_long(aws_credentials):
    """Worst case of one publish (every try times out, plus backoff) stays far below
    API Gateway's 29 s, so the request that committed the change still answers."""
    config = sns.client("sns", sns.SNS_CLIENT_CONFIG).meta.config
    tries = config.retries["total_max_attempts"]
    worst_case = tries * (config.connect_timeout + config.read_timeout) + (tries - 1)
    assert worst_case <= 10


# --- The Lambda container's database connection ---------------------------------------


def test_batch_replaces_a_database_connection_the_server_dropped(queues, monkeypatch):
    rider, ride = rider_with_ride()
    register(rider, ride=ride)
    messages = queues.receive("notifications")
    dropped = connection.connection  # kept from earlier work, as in a warm container
    monkeypatch.setattr(connection, "is_usable", lambda: False)  # what a health check sees
    connection.health_check_enabled = True  # as on a stage (reset when it reconnects)

    assert queues.deliver("notifications", messages) == []

    assert connection.connection is not dropped
    assert Notification.objects.filter(user=rider).count() == 1
