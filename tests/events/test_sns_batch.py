"""The relay publishes a backlog to SNS with PublishBatch (10 events a call, 256 KiB at
most), against moto's server over HTTP: each subscriber's queue gets its events, as the
same messages as one Publish each; an entry SNS fails stays in the outbox with its error
for the next pass; a pass repeated, or two at once, publish nothing twice beyond at least
once (subscribers are idempotent by event id).

The SNS calls are counted, and entries failed on demand, with botocore event hooks on the
relay's client (moto fails no entry that SNS would take).
"""

import json
from collections import Counter

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from events import aws, outbox, relay, sns
from events.models import OutboxEvent, ProcessedEvent
from notifications.models import Notification
from payments import services as payments
from tests.aws.moto_stack import moto_server, reset
from tests.events.sets import written_by_the_database
from tests.events.test_aws_fanout import REGION, Fanout
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def moto_endpoint():
    """One moto server for the module's tests, emptied before each (moto_http): stopping a
    server of its own took each test 0.5 s."""
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def moto_http(moto_endpoint, aws_credentials, monkeypatch, settings):
    """moto's server on loopback, which every boto3 client of the test reaches over HTTP."""
    settings.AWS_REGION = REGION
    reset(moto_endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    return moto_endpoint


@pytest.fixture(params=[False, True], ids=["sns-envelope", "raw-delivery"])
def fanout(request, moto_http, settings):
    fanout = Fanout(raw_delivery=request.param)
    settings.EVENTS_SNS_TOPIC_ARN = fanout.topic_arn
    return fanout


@pytest.fixture
def queues(moto_http, settings):
    fanout = Fanout(raw_delivery=False)
    settings.EVENTS_SNS_TOPIC_ARN = fanout.topic_arn
    return fanout


class SNSCalls:
    """The relay's SNS calls, seen through hooks on its clients: `calls` counts them by
    operation, `batches` holds each PublishBatch's entries; an entry whose Id is in
    `failing` is not sent, and SNS's answer lists it as Failed."""

    ERROR = {"Code": "InternalError", "Message": "SNS had a bad moment", "SenderFault": False}

    def __init__(self):
        self.calls, self.batches, self.failing, self.on_call = Counter(), [], set(), None

    def hook(self, client):
        client.meta.events.register("before-call.sns.*", self.before_call)
        client.meta.events.register("before-parameter-build.sns.PublishBatch", self.drop)
        client.meta.events.register("after-call.sns.PublishBatch", self.answer_failed)
        return client

    def before_call(self, model, **kwargs):
        self.calls[model.name] += 1
        if self.on_call:
            on_call, self.on_call = self.on_call, None
            on_call()

    def drop(self, params, context, **kwargs):
        entries = params["PublishBatchRequestEntries"]
        self.batches.append(list(entries))
        context["dropped"] = [e["Id"] for e in entries if e["Id"] in self.failing]
        params["PublishBatchRequestEntries"] = [e for e in entries if e["Id"] not in self.failing]

    def answer_failed(self, parsed, context, **kwargs):
        parsed.setdefault("Failed", [])
        parsed["Failed"] += [{"Id": id_, **self.ERROR} for id_ in context.get("dropped", [])]


# The relay's own 2-s read timeout, with its retry, sent a batch twice when moto's server
# took longer to fan it out on a loaded machine (load 20: 22 messages for 12 events). These
# tests count what one pass sends; SNS that is slow to answer is test_aws_fanout's.
PATIENT = {"read_timeout": 60}


@pytest.fixture
def sns_calls(monkeypatch):
    seen, real = SNSCalls(), sns.client

    def client(service, config=None):
        return seen.hook(real(service, {**(config or {}), **PATIENT}))

    monkeypatch.setattr(sns, "client", client)
    return seen


def backlog(payments_count: int, assigned: int = 0) -> list[OutboxEvent]:
    """Committed, unpublished events, in the order the relay takes them: PaymentRegistered
    (bi and notifications subscribe) and RideAssigned (notifications only)."""
    rider = UserFactory()
    with override_settings(EVENTS_DELIVERY="relay"):
        for i in range(payments_count):
            payments.register_payment(
                amount_minor=100 + i, currency="USD", reference=f"B-{i}", payer=rider,
                actor="test",
            )  # fmt: skip
        for i in range(assigned):
            with transaction.atomic():
                outbox.emit("rides.RideAssigned", {"ride_id": f"ride-{i}", "unicorn": "Bucephalus"})
    events = list(OutboxEvent.objects.order_by("occurred_at"))
    assert not any(event.published_at for event in events)
    return events


def received(fanout: Fanout, subscriber: str) -> list[dict]:
    """Every message in the subscriber's queue, left invisible for the rest of the test: with
    SQS's 30 s, a loaded machine (load 18) saw a batch come round again while reading."""
    messages = []
    while batch := fanout.receive(subscriber, visibility_timeout=600):
        messages += batch
    return messages


def entry_bytes(entry: dict) -> int:
    attribute = entry["MessageAttributes"]["event_type"]
    return sum(
        len(part.encode())
        for part in (
            entry["Message"],
            "event_type",
            attribute["DataType"],
            attribute["StringValue"],
        )
    )


def test_a_backlog_goes_out_ten_events_a_call_as_the_same_messages(fanout, sns_calls):
    events = backlog(20, assigned=5)

    assert relay.relay_events()["published"] == 25

    assert sns_calls.calls == {"PublishBatch": 3}  # not 25 Publish
    assert [len(batch) for batch in sns_calls.batches] == [10, 10, 5]
    for event in OutboxEvent.objects.all():
        assert event.published_at is not None
        assert (event.publish_attempts, event.last_error) == (0, "")
    types = {str(event.id): event.type for event in events}
    for subscriber, expected in [("bi", events[:20]), ("notifications", events)]:
        messages = received(fanout, subscriber)
        envelopes = [aws.envelope_from_body(message["Body"]) for message in messages]
        assert sorted(e["id"] for e in envelopes) == sorted(str(e.id) for e in expected)
        for message, envelope in zip(messages, envelopes, strict=True):
            assert fanout.event_type_of(message) == types[envelope["id"]] == envelope["type"]
        by_id = {event.envelope()["id"]: event.envelope() for event in expected}
        assert all(envelope == by_id[envelope["id"]] for envelope in envelopes)


def test_the_events_sns_fails_in_a_batch_stay_for_the_next_pass_with_their_error(queues, sns_calls):
    events = backlog(12)
    failing = [events[3], events[11]]
    sns_calls.failing = {event.pk.hex for event in failing}

    assert relay.relay_events()["published"] == 10

    left = OutboxEvent.objects.filter(published_at__isnull=True).order_by("occurred_at")
    assert list(left) == failing
    for event in left:
        assert event.publish_attempts == 1
        assert event.last_error == "(InternalError) SNS had a bad moment"
    assert OutboxEvent.objects.filter(publish_attempts=0, last_error="").count() == 10
    assert len(received(queues, "bi")) == 10

    sns_calls.failing = set()
    assert relay.relay_events()["published"] == 2
    assert sns_calls.calls == {"PublishBatch": 3}  # 10 + 2 entries, then the 2 again
    assert [len(batch) for batch in sns_calls.batches] == [10, 2, 2]
    assert not OutboxEvent.objects.filter(published_at__isnull=True).exists()
    ids = sorted(aws.envelope_from_body(m["Body"])["id"] for m in received(queues, "bi"))
    assert ids == sorted(str(event.id) for event in failing)


def test_a_batch_call_that_fails_as_a_whole_ends_the_pass_and_leaves_every_event(
    queues, sns_calls, settings
):
    """SNS out of reach or the topic gone: the pass stops at the first call that fails as a
    whole (each would wait seconds), and every event stays for the next pass."""
    backlog(12)
    settings.EVENTS_SNS_TOPIC_ARN = queues.topic_arn + "-gone"

    assert relay.relay_events()["published"] == 0

    assert sns_calls.calls == {"PublishBatch": 1}
    tried = OutboxEvent.objects.filter(publish_attempts=1)
    assert tried.count() == 10 and not OutboxEvent.objects.filter(publish_attempts__gt=1)
    for event in tried:
        assert "(NotFound) when calling the PublishBatch operation" in event.last_error
    assert not OutboxEvent.objects.filter(published_at__isnull=False).exists()

    settings.EVENTS_SNS_TOPIC_ARN = queues.topic_arn
    assert relay.relay_events()["published"] == 12
    assert len(received(queues, "bi")) == 12


def test_a_backlog_near_the_size_limit_is_split_by_size_and_all_goes_out(fanout, sns_calls):
    """Four events of 150, 100, 100 and 250 KiB among small ones: no PublishBatch is over
    256 KiB, and the biggest, close to SNS's limit for one message, goes too."""
    with override_settings(EVENTS_DELIVERY="relay"), transaction.atomic():
        for i, kib in enumerate([150, 100, 100, 250, 0, 0, 0, 0, 0]):
            data = {"reference": f"BIG-{i}", "note": "x" * (kib * 1024 - 300 if kib else 10)}
            outbox.emit("payments.PaymentRegistered", data)
    events = list(OutboxEvent.objects.order_by("occurred_at"))

    assert relay.relay_events()["published"] == 9

    assert sum(sns_calls.calls.values()) == 3  # [150, 100], [100] alone, [250, the small]
    assert sns_calls.batches, "published in batches"
    for batch in sns_calls.batches:
        assert len(batch) <= 10
        assert sum(entry_bytes(entry) for entry in batch) <= 256 * 1024
    envelopes = [aws.envelope_from_body(m["Body"]) for m in received(fanout, "bi")]
    assert sorted(envelopes, key=lambda e: e["id"]) == [event.envelope() for event in events]


def test_a_pass_repeated_or_two_at_once_publish_each_event_at_least_once_and_it_counts_once(
    queues, sns_calls
):
    """Another pass runs all through while the first is about to make its first call: both
    publish what they read (at least once), the subscribers take each event once, and a
    pass after them publishes nothing."""
    events = backlog(15)
    sns_calls.on_call = relay.relay_events  # the other pass, at once

    assert relay.relay_events()["published"] == 15

    messages = {name: received(queues, name) for name in ("bi", "notifications")}
    for name, batch in messages.items():
        ids = [aws.envelope_from_body(m["Body"])["id"] for m in batch]
        assert set(ids) == {str(event.id) for event in events}
        assert len(ids) == 2 * len(events)  # both passes sent them all
        assert queues.deliver(name, batch) == []
    assert Notification.objects.count() == 15
    for name in ("bi", "notifications"):
        assert ProcessedEvent.objects.filter(subscriber=name).count() == 15

    calls = sum(sns_calls.calls.values())
    assert relay.relay_events()["published"] == 0
    assert sum(sns_calls.calls.values()) == calls  # the repeated pass calls SNS for nothing
    assert OutboxEvent.objects.filter(published_at__lte=timezone.now()).count() == 15


def test_one_event_just_committed_is_one_publish_call(
    queues, sns_calls, django_capture_on_commit_callbacks
):
    rider = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):  # published after its commit
        payments.register_payment(
            amount_minor=1250, currency="USD", reference="INV-1", payer=rider, actor="test"
        )

    assert sns_calls.calls == {"Publish": 1}
    assert OutboxEvent.objects.get().published_at is not None
    [message] = received(queues, "notifications")
    assert (
        json.loads(json.loads(message["Body"])["Message"]) == OutboxEvent.objects.get().envelope()
    )


def test_a_set_written_by_the_database_publishes_one_batch_after_its_commit(
    queues, sns_calls, django_capture_on_commit_callbacks, monkeypatch
):
    """On AWS the hook after a payment list's commit runs in the step's Lambda: it publishes
    one batch of the list's events (RELAY_BATCH, here 12), not a relay pass; the scheduled
    relay publishes the rest, each event once."""
    monkeypatch.setattr(relay, "RELAY_BATCH", 12)
    with django_capture_on_commit_callbacks(execute=True):
        written = written_by_the_database(25, payer=UserFactory())

    assert sns_calls.calls == {"PublishBatch": 2}  # 10 + 2
    assert OutboxEvent.objects.filter(published_at__isnull=True).count() == 13
    assert relay.relay_events()["published"] == 13
    assert relay.relay_events()["published"] == 0
    # and the relay's batches: 12 (10 + 2), then 1 (one event is one Publish)
    assert sns_calls.calls == {"PublishBatch": 4, "Publish": 1}
    sent = [json.loads(json.loads(m["Body"])["Message"]) for m in received(queues, "bi")]
    assert sorted(envelope["data"]["payment_id"] for envelope in sent) == sorted(written)


def test_an_event_too_big_for_sns_is_not_sent_and_the_pass_goes_on(queues, sns_calls):
    """The oldest unpublished event is over SNS's 256 KiB (body and attributes): SNS would
    refuse it every time, as a whole call. It stays, with its error, and is not sent; the
    events behind it go out, in this pass and every pass after it (ed47054 ended the pass
    at that refusal, the 499 events behind it untried, every scheduled minute: the relay
    published nothing ever again)."""
    with override_settings(EVENTS_DELIVERY="relay"), transaction.atomic():
        outbox.emit("payments.PaymentRegistered", {"reference": "HUGE", "note": "x" * 300_000})
    huge = OutboxEvent.objects.get()
    backlog(12)

    assert relay.relay_events()["published"] == 12
    assert relay.relay_events()["published"] == 0

    assert sns_calls.calls == {"PublishBatch": 2}  # 10 + 2; nothing sent for the huge one
    huge.refresh_from_db()
    assert huge.published_at is None
    assert huge.publish_attempts == 2
    assert huge.last_error.startswith("Too big for SNS: 300")
    assert OutboxEvent.objects.filter(published_at__isnull=True).get() == huge
    assert len(received(queues, "bi")) == 12


def test_an_answer_with_an_id_twice_an_unknown_id_or_one_missing_publishes_only_what_it_lists(
    queues, sns_calls
):
    """SNS's answer is the only word on what went out: an entry it does not list as
    Successful stays for the next pass ("not in SNS's answer"), an Id listed twice counts
    once, an Id it never got changes nothing."""
    events = backlog(3)
    missing = events[1]

    def odd_answer(parsed, **kwargs):
        successful = [s for s in parsed["Successful"] if s["Id"] != missing.pk.hex]
        parsed["Successful"] = successful + successful[:1] + [{"Id": "x" * 32, "MessageId": "m"}]
        parsed["Failed"] = [{"Id": "y" * 32, "Code": "InternalError", "SenderFault": False}]

    counted = sns_calls.hook

    def hook(client):
        counted(client).meta.events.register("after-call.sns.PublishBatch", odd_answer)
        return client

    sns_calls.hook = hook

    assert relay.relay_events()["published"] == 2

    left = OutboxEvent.objects.get(published_at__isnull=True)
    assert left == missing
    assert (left.publish_attempts, left.last_error) == (1, "not in SNS's answer")


def test_a_call_refused_for_what_it_carries_does_not_end_the_pass(queues, sns_calls):
    """InvalidParameter on one call (its messages), not SNS out of reach: the next calls go."""
    from botocore.exceptions import ClientError

    backlog(25)

    def refuse_the_first_call():
        error = {"Error": {"Code": "InvalidParameter", "Message": "Invalid parameter: Message"}}
        raise ClientError(error, "PublishBatch")

    sns_calls.on_call = refuse_the_first_call
    assert relay.relay_events()["published"] == 15

    assert sns_calls.calls == {"PublishBatch": 3}
    refused = OutboxEvent.objects.filter(published_at__isnull=True)
    assert refused.count() == 10 and all(e.publish_attempts == 1 for e in refused)
    assert all("InvalidParameter" in e.last_error for e in refused)
    assert len(received(queues, "bi")) == 15
