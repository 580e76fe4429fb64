"""A scheduled relay pass drains whatever backlog it can within its time, batch after
batch, instead of a fixed batch per pass. The hook after the commit of a set of events
written by the database (events.outbox.emit_rows: a payment list's) is no relay pass: it
hands on one batch of the set's own events, and leaves the rest, and the retries, to the
schedule."""

import types
from unittest import mock

import pytest
from django.test import override_settings
from django.utils import timezone

from events import aws, relay, sns
from events.models import Delivery, OutboxEvent
from notifications.models import Notification
from payments import services as payments
from tests.events.sets import written_by_the_database
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def batches_of_three(monkeypatch):
    monkeypatch.setattr(relay, "RELAY_BATCH", 3)


def backlog(count: int) -> list:
    """Payments whose events are committed but were never published (the relay's work)."""
    rider = UserFactory()
    with override_settings(EVENTS_DELIVERY="relay"):
        return [
            payments.register_payment(
                amount_minor=100 + i,
                currency="USD",
                reference=f"B-{i}",
                payer=rider,
                actor="test",
            )
            for i in range(count)
        ]


def unpublished() -> int:
    return OutboxEvent.objects.filter(published_at__isnull=True).count()


def test_one_pass_drains_a_backlog_of_many_batches(batches_of_three):
    backlog(8)

    assert relay.relay_events()["published"] == 8
    assert unpublished() == 0
    assert Notification.objects.count() == 8


def test_a_pass_whose_time_is_up_stops_after_the_batch_it_is_in(batches_of_three):
    backlog(8)

    assert relay.relay_events(seconds=0)["published"] == 3
    assert unpublished() == 5
    assert relay.relay_events()["published"] == 5  # the next pass goes on


def test_an_event_that_cannot_go_out_is_left_to_the_next_pass_and_the_rest_go(
    batches_of_three, settings
):
    settings.EVENTS_SNS_TOPIC_ARN = "arn:aws:sns:eu-west-1:123456789012:wildrydes-test-events"
    payments_ = backlog(8)
    broken = str(payments_[1].id)
    sent = []

    def publish(events):  # SNS, failing the broken event's entry of its call
        failed = {e.pk: "SNS said no" for e in events if e.data["payment_id"] == broken}
        sent.extend(e.data["payment_id"] for e in events if e.pk not in failed)
        yield events, failed

    with mock.patch.object(sns, "publish", publish):
        assert relay.relay_events()["published"] == 7

    failed = OutboxEvent.objects.get(published_at__isnull=True)
    assert failed.data["payment_id"] == broken
    assert failed.publish_attempts == 1  # tried once in the pass, not once per batch
    assert len(set(sent)) == 7


def deliveries_due_again(count: int) -> None:
    """`count` published events, each with a notifications delivery due for a retry now."""
    backlog(count)
    relay.relay_events()
    for event in OutboxEvent.objects.all():
        Delivery.objects.create(
            event=event, subscriber="notifications", status=Delivery.Status.PENDING,
            next_attempt_at=timezone.now(),
        )  # fmt: skip


def test_due_retries_are_all_taken_in_one_pass(batches_of_three):
    deliveries_due_again(5)

    result = relay.relay_events()

    assert (result["retried"], result["delivered"]) == (5, 5)
    assert not Delivery.objects.filter(status=Delivery.Status.PENDING).exists()
    assert Notification.objects.count() == 5  # each rider told once all the same


def test_after_its_commit_a_set_written_by_the_database_goes_out_one_batch_at_most(
    batches_of_three, django_capture_on_commit_callbacks
):
    rider = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        written = written_by_the_database(8, payer=rider)

    assert unpublished() == 5  # one batch went: the rest is the scheduled relay's
    told = set(Notification.objects.values_list("event_id", flat=True))
    assert len(told) == 3
    assert told == set(OutboxEvent.objects.filter(published_at__isnull=False).values_list(
        "id", flat=True))  # fmt: skip
    assert relay.relay_events()["published"] == 5
    assert relay.relay_events()["published"] == 0
    assert sorted(e.data["payment_id"] for e in OutboxEvent.objects.all()) == sorted(written)
    assert Notification.objects.filter(user=rider).count() == 8  # each payment told once
    assert len(set(Notification.objects.values_list("event_id", flat=True))) == 8


def test_a_set_of_one_batch_goes_out_whole_after_its_commit(
    batches_of_three, django_capture_on_commit_callbacks
):
    rider = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        written_by_the_database(3, payer=rider)

    assert unpublished() == 0
    assert Notification.objects.filter(user=rider).count() == 3
    assert relay.relay_events()["published"] == 0


def test_the_batch_after_the_commit_is_the_sets_own_not_an_older_backlog(
    batches_of_three, django_capture_on_commit_callbacks
):
    """A small set committed behind an older backlog (the rest of a large list, an SNS
    outage) still goes out at once; the backlog is left to the relay, as it was."""
    old = backlog(4)
    rider = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        written_by_the_database(2, payer=rider)

    assert Notification.objects.filter(user=rider).count() == 2
    left = OutboxEvent.objects.filter(published_at__isnull=True)
    assert sorted(e.data["payment_id"] for e in left) == sorted(str(p.id) for p in old)


def test_the_hook_after_a_sets_commit_retries_no_delivery(
    batches_of_three, django_capture_on_commit_callbacks
):
    """Due retries are the scheduled relay's: the committing thread is not kept for them."""
    deliveries_due_again(2)
    with django_capture_on_commit_callbacks(execute=True):
        written_by_the_database(1, payer=UserFactory())

    assert Delivery.objects.filter(status=Delivery.Status.PENDING).count() == 2
    assert relay.relay_events() == {"published": 0, "retried": 2, "delivered": 2}


def test_in_relay_mode_a_set_waits_for_the_relay(
    batches_of_three, django_capture_on_commit_callbacks, settings
):
    settings.EVENTS_DELIVERY = "relay"
    with django_capture_on_commit_callbacks(execute=True):
        written_by_the_database(4, payer=UserFactory())

    assert unpublished() == 4
    assert relay.relay_events()["published"] == 4


def test_on_lambda_the_pass_ends_before_the_invocation_times_out(settings):
    settings.EVENTS_RELAY_SECONDS = 50
    context = types.SimpleNamespace(get_remaining_time_in_millis=lambda: 25_000)
    with mock.patch.object(relay, "relay_events", return_value={}) as relay_pass:
        aws.relay_on_schedule({}, context)
    (budget,) = (call.kwargs["seconds"] for call in relay_pass.call_args_list)
    assert budget == 25 - aws.RELAY_MARGIN_SECONDS
