"""The outbox and in-process delivery, with real commits (transactional tests; those that
need no commit, one thread on one connection, say so with the ordinary db mark)."""

import random
import threading
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection, transaction  # noqa: F401 (skipif reads it)
from django.db.models import Sum
from django.test import override_settings
from django.utils import timezone

from bi.models import DailyAggregate
from events import delivery, outbox, registry, relay
from events.models import Delivery, OutboxEvent, ProcessedEvent
from notifications.models import Notification
from payments import services as payments
from rides import services as rides
from tests.concurrency import all_at_once, held_by_another_transaction
from tests.factories import RideFactory, UnicornFactory, UserFactory, arrive_now

pytestmark = pytest.mark.django_db(transaction=True)


def register(payer=None, reference="INV-1", ride=None, amount_minor=1250):
    return payments.register_payment(
        amount_minor=amount_minor,
        currency="USD",
        reference=reference,
        payer=payer,
        ride=ride,
        actor="test",
    )


def test_registered_payment_reaches_bi_and_the_riders_notifications():
    rider = UserFactory()
    ride = RideFactory(rider=rider, unicorn=UnicornFactory(name="Shadowfax", is_available=False))
    register(payer=rider, ride=ride)

    notification = Notification.objects.get(user=rider)
    assert notification.message == "Payment of $12.50 registered for your ride with Shadowfax"
    today = DailyAggregate.objects.get(day=timezone.localdate())
    assert (today.payments_registered, today.payments_registered_minor) == (1, 1250)
    assert OutboxEvent.objects.get().published_at is not None
    assert set(ProcessedEvent.objects.values_list("subscriber", flat=True)) == {
        "bi",
        "notifications",
    }
    assert not Delivery.objects.exists()  # delivered at the first try: nothing to retry


def test_completed_ride_registers_its_fare_once_and_feeds_bi():
    rider = UserFactory()
    UnicornFactory(name="Bucephalus")
    ride = rides.request_ride(rider=rider, pickup=rides.Point(47.6062, -122.3321))
    arrive_now(ride)
    rides.board_ride(ride=ride, by=rider)
    rides.complete_ride(ride=ride, by=rider)
    with pytest.raises(rides.Conflict):
        rides.complete_ride(ride=ride, by=rider)

    assert ride.payments.count() == 1
    assert payments.register_fare_payment(ride=ride, actor="retry") == ride.payments.get()
    today = DailyAggregate.objects.get(day=timezone.localdate())
    assert (today.rides_completed, today.revenue_minor) == (1, ride.fare_minor)
    # assigned, arrived, boarded, the fare payment, the receipt
    assert Notification.objects.filter(user=rider).count() == 5


def test_rolled_back_change_publishes_nothing():
    rider = UserFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        register(payer=rider)
        raise RuntimeError("the request failed after the payment was written")
    assert not OutboxEvent.objects.exists()
    assert not Notification.objects.exists()


def test_crash_between_commit_and_publish_is_caught_up_by_the_relay():
    rider = UserFactory()
    with mock.patch.object(relay, "publish_events"):  # the process "dies" after commit
        register(payer=rider)
    assert OutboxEvent.objects.get().published_at is None
    assert not Notification.objects.exists()

    call_command("relay_events")
    call_command("relay_events")  # running it again changes nothing

    assert Notification.objects.filter(user=rider).count() == 1
    assert OutboxEvent.objects.get().published_at is not None


def test_a_delivery_failing_after_the_commit_leaves_the_change_and_the_event_to_the_relay():
    rider = UserFactory()
    gone = OperationalError("the database went away")
    with mock.patch.object(delivery, "deliver_batch", side_effect=gone):
        payment = register(payer=rider)  # the caller's change stands; no error reaches it
    assert payment.pk and OutboxEvent.objects.get().published_at is None

    assert relay.relay_events()["published"] == 1
    assert Notification.objects.filter(user=rider).count() == 1


def test_redelivered_event_changes_nothing():
    rider = UserFactory()
    register(payer=rider)
    event = OutboxEvent.objects.get()
    notifications = registry.subscriber("notifications")

    assert delivery.process_event(notifications, event.envelope()) is False
    assert Notification.objects.count() == 1
    assert ProcessedEvent.objects.filter(event_id=event.id).count() == 2  # bi + notifications


def test_failing_subscriber_is_retried_with_backoff_then_dead_lettered(settings):
    settings.EVENTS_MAX_ATTEMPTS = 3
    rider = UserFactory()
    with mock.patch("notifications.subscribers.payment_message", side_effect=ValueError("boom")):
        register(payer=rider)
        letter = Delivery.objects.get(subscriber="notifications")
        assert (letter.status, letter.attempts) == ("pending", 1)
        assert letter.next_attempt_at > timezone.now()

        for _ in range(2):
            Delivery.objects.filter(pk=letter.pk).update(next_attempt_at=timezone.now())
            relay.relay_events()

    letter.refresh_from_db()
    assert (letter.status, letter.attempts) == ("dead", 3)
    assert "ValueError: boom" in letter.last_error
    assert ProcessedEvent.objects.filter(subscriber="bi").exists()  # bi got it at once
    assert not Delivery.objects.filter(subscriber="bi").exists()
    assert not Notification.objects.exists()

    assert delivery.replay_dead_letter(letter) is True
    assert delivery.replay_dead_letter(letter) is True  # a second replay delivers nothing new
    assert Notification.objects.filter(user=rider).count() == 1


@pytest.mark.django_db  # one thread, one connection: no need to commit
def test_event_ids_follow_the_order_events_are_written():
    """Time-ordered ids keep the outbox's and the subscribers' indexes growing at the end."""
    with transaction.atomic():
        first = outbox.emit("tests.Happened", {"n": 1})
        second = outbox.emit("tests.Happened", {"n": 2})
    later = outbox.emit("tests.Happened", {"n": 3})

    assert first.pk.version == 7
    assert str(first.pk) < str(second.pk) < str(later.pk)


@pytest.mark.django_db  # one thread, one connection: no need to commit
def test_backoff_doubles():
    assert [delivery.backoff(n) for n in (1, 2, 3)] == [
        timedelta(seconds=2),
        timedelta(seconds=4),
        timedelta(seconds=8),
    ]


# --- Batches ----------------------------------------------------------------------------


def emit_uncommitted(payers, prefix="B"):
    """Payments whose events are committed but not yet published (the relay's backlog)."""
    with override_settings(EVENTS_DELIVERY="relay"):
        return [register(payer=p, reference=f"{prefix}-{i}") for i, p in enumerate(payers)]


def failing_notifications_for(reference):
    """The notifications subscriber, broken for one payment only (batch or not)."""
    from notifications import subscribers

    real = subscribers.payment_message

    def payment_message(event_type, data, **kwargs):
        if data["reference"] == reference:
            raise ValueError("boom")
        return real(event_type, data, **kwargs)

    return mock.patch.object(subscribers, "payment_message", payment_message)


def test_a_batch_is_delivered_set_based_once_to_each_subscriber(django_assert_max_num_queries):
    riders = [UserFactory() for _ in range(3)]
    emit_uncommitted(riders * 4)  # 12 events, 3 payers
    ids = list(OutboxEvent.objects.values_list("pk", flat=True))

    # BEGIN, the claim (lock, mark), then each subscriber under a savepoint: its
    # ProcessedEvent rows (not looked for first: the events were unpublished) and its work
    # (bi: its day's row, here created; notifications: the payers, the notifications),
    # COMMIT: 14 whatever the batch size (16 when the ProcessedEvent rows were looked for).
    with django_assert_max_num_queries(14):
        assert relay.publish_events(ids) == 12
    assert relay.publish_events(ids) == 0  # already published

    assert Notification.objects.count() == 12
    assert ProcessedEvent.objects.count() == 24
    assert not Delivery.objects.exists()
    today = DailyAggregate.objects.get(day=timezone.localdate())
    assert (today.payments_registered, today.payments_registered_minor) == (12, 12 * 1250)


def test_events_delivered_by_two_deliverers_at_once_reach_each_subscriber_once():
    riders = [UserFactory() for _ in range(3)]
    emit_uncommitted(riders * 2)  # 6 events
    ids = list(OutboxEvent.objects.values_list("pk", flat=True))

    # The relay and a process catching up at the same moment, each with its connection.
    published = all_at_once(3, lambda: relay.publish_events(ids))

    assert sum(published) == 6  # each event claimed by one of them
    assert Notification.objects.count() == 6
    assert ProcessedEvent.objects.count() == 12
    assert DailyAggregate.objects.get().payments_registered == 6
    assert relay.relay_events()["published"] == 0


@pytest.mark.django_db  # one thread, one connection: no need to commit
def test_an_event_the_relay_has_published_is_not_delivered_again():
    riders = [UserFactory() for _ in range(3)]
    emit_uncommitted(riders)
    ids = list(OutboxEvent.objects.values_list("pk", flat=True))
    assert relay.relay_events()["published"] == 3

    assert delivery.deliver_batch(ids) == 0
    assert Notification.objects.count() == 3  # each rider told once
    assert DailyAggregate.objects.get().payments_registered == 3


@pytest.mark.django_db  # one thread, one connection: no need to commit
def test_one_failing_event_in_a_batch_is_retried_alone_then_dead_lettered(settings):
    settings.EVENTS_MAX_ATTEMPTS = 2
    riders = [UserFactory() for _ in range(4)]
    emit_uncommitted(riders)
    with failing_notifications_for("B-2"):
        assert relay.relay_events()["published"] == 4

        # bi took the whole batch; notifications fell back to one by one: 3 delivered once.
        assert ProcessedEvent.objects.filter(subscriber="bi").count() == 4
        assert Notification.objects.count() == 3
        failed = Delivery.objects.get(subscriber="notifications", status="pending")
        assert failed.event.data["reference"] == "B-2"
        assert failed.attempts == 1 and failed.next_attempt_at > timezone.now()
        assert ProcessedEvent.objects.filter(subscriber="notifications").count() == 3
        # The batch's fallback: one delivery each, the three good ones delivered at once.
        assert Delivery.objects.filter(subscriber="notifications", status="delivered").count() == 3

        Delivery.objects.filter(pk=failed.pk).update(next_attempt_at=timezone.now())
        assert relay.relay_events() == {"published": 0, "retried": 1, "delivered": 0}

    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("dead", 2)
    assert "ValueError: boom" in failed.last_error
    assert Notification.objects.count() == 3
    assert DailyAggregate.objects.get().payments_registered == 4  # bi counted each once

    assert delivery.replay_dead_letter(failed) is True
    assert Notification.objects.filter(user=riders[2]).count() == 1
    assert Notification.objects.count() == 4


@pytest.mark.django_db  # one thread, one connection: no need to commit
def test_a_batch_skips_events_a_subscriber_has_already_processed():
    riders = [UserFactory() for _ in range(3)]
    emit_uncommitted(riders)
    first = OutboxEvent.objects.order_by("occurred_at").first()
    notifications = registry.subscriber("notifications")
    assert delivery.process_event(notifications, first.envelope()) is True  # e.g. via SQS

    relay.relay_events()

    assert Notification.objects.count() == 3  # the first one once
    assert Notification.objects.filter(event_id=first.pk).count() == 1
    assert DailyAggregate.objects.get().payments_registered == 3
    assert ProcessedEvent.objects.count() == 6
    with transaction.atomic():  # redelivering the whole batch changes nothing
        assert (
            delivery.process_batch(notifications, [e.envelope() for e in OutboxEvent.objects.all()])
            == 0
        )
    assert Notification.objects.count() == 3


@pytest.mark.django_db  # one thread, one connection: no need to commit
def test_bi_folds_a_batch_per_day_and_campaign():
    from bi.models import CampaignDailySpend
    from bi.subscribers import handle_batch

    def completed(day, fare, base, campaign=""):
        return {
            "type": "rides.RideCompleted",
            "occurred_at": f"{day}T12:00:00+00:00",
            "data": {"fare_minor": fare, "base_fare_minor": base, "campaign": campaign},
        }

    with transaction.atomic():
        handle_batch(
            [
                completed("2026-01-01", 900, 1000, "Spring"),
                completed("2026-01-01", 800, 1000, "Spring"),
                completed("2026-01-01", 1000, 1000),
                completed("2026-01-02", 500, 1000, "Autumn"),
            ]
        )
    first, second = DailyAggregate.objects.order_by("day")
    assert (first.rides_completed, first.revenue_minor, first.discounts_minor) == (3, 2700, 300)
    assert (second.rides_completed, second.revenue_minor, second.discounts_minor) == (1, 500, 500)
    assert set(CampaignDailySpend.objects.values_list("campaign", "rides", "discounts_minor")) == {
        ("Spring", 2, 300),
        ("Autumn", 1, 500),
    }


# --- When --------------------------------------------------------------------------------


def test_events_are_delivered_as_soon_as_their_transaction_commits():
    rider = UserFactory()
    with transaction.atomic():
        register(payer=rider)
        assert not Notification.objects.exists()  # nothing leaves before the commit
    assert Notification.objects.filter(user=rider).count() == 1
    assert OutboxEvent.objects.get().published_at is not None


def test_relay_mode_leaves_delivery_to_the_relay(settings):
    settings.EVENTS_DELIVERY = "relay"
    rider = UserFactory()
    register(payer=rider)
    assert not Notification.objects.exists()
    assert relay.relay_events()["published"] == 1
    assert Notification.objects.filter(user=rider).count() == 1


# --- The event just committed, delivered inline ------------------------------------------


def test_a_ride_event_just_committed_is_claimed_in_one_statement_not_read_back(
    settings, django_assert_num_queries
):
    rider = UserFactory()
    UnicornFactory()
    settings.EVENTS_DELIVERY = "relay"
    rides.request_ride(rider=rider, pickup=rides.Point(47.6062, -122.3321))
    event = OutboxEvent.objects.get()
    settings.EVENTS_DELIVERY = "inline"

    # BEGIN, the claim (one UPDATE, not read back), under a savepoint the notifications
    # subscriber's ProcessedEvent row (not looked for first) and notification (the rider
    # not read first), RELEASE, COMMIT. It was 10: SELECT ... FOR UPDATE, UPDATE, the
    # ProcessedEvent looked up; then 8: the rider read before the notification.
    with django_assert_num_queries(7):
        relay.publish_after_commit(event)

    assert OutboxEvent.objects.get().published_at is not None
    assert Notification.objects.filter(user=rider, event_id=event.pk).count() == 1
    assert ProcessedEvent.objects.filter(event_id=event.pk).count() == 1


received = []


def record(envelope):
    received.append(envelope)


def test_the_event_handed_on_inline_is_the_one_the_outbox_holds():
    """The event is handed on as emit wrote it, not read back: its data as JSON all the same
    (decimals, times and ids as strings, tuples as lists), as the relay and SQS hand it."""
    recorder = registry.Subscriber("recorder", f"{__name__}.record", frozenset({"tests.Happened"}))
    received.clear()
    data = {
        "amount": Decimal("12.50"),
        "at": timezone.now(),
        "ride_id": uuid.uuid4(),
        "pair": (1, 2),
        "none": None,
    }
    with mock.patch.object(registry, "subscribers", return_value=(recorder,)):
        outbox.emit("tests.Happened", data)

    event = OutboxEvent.objects.get()
    assert event.published_at is not None
    assert received == [event.envelope()]
    assert received[0]["data"]["pair"] == [1, 2]


def test_an_event_processed_before_it_was_published_is_delivered_to_the_others_only():
    """A subscriber that got the event another way (by hand, in the event's own
    transaction) is skipped by the inline delivery: no second notification, no retry."""
    rider = UserFactory()
    notifications = registry.subscriber("notifications")
    with transaction.atomic():
        register(payer=rider)
        event = OutboxEvent.objects.get()
        assert delivery.process_event(notifications, event.envelope()) is True

    assert OutboxEvent.objects.get().published_at is not None
    assert Notification.objects.filter(user=rider).count() == 1
    assert set(ProcessedEvent.objects.values_list("subscriber", flat=True)) == {
        "bi",
        "notifications",
    }
    assert DailyAggregate.objects.get().payments_registered == 1
    assert not Delivery.objects.exists()


def test_a_ride_event_of_a_rider_who_is_gone_is_delivered_without_a_notification():
    """A rider deleted (by an administrator) before the event went out: nobody to tell; the
    event is delivered all the same, not failed at the commit on the notification's key."""
    outbox.emit("rides.RideAssigned", {**ride_data(), "rider_id": 987654})

    assert OutboxEvent.objects.get().published_at is not None
    assert ProcessedEvent.objects.filter(subscriber="notifications").count() == 1
    assert not Notification.objects.exists()
    assert not Delivery.objects.exists()


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_an_event_another_deliverer_holds_is_left_to_it_without_waiting():
    """The relay has just claimed the event (its row locked, not yet marked): the inline
    delivery skips it at once instead of waiting for the relay's commit."""
    rider = UserFactory()
    with override_settings(EVENTS_DELIVERY="relay"):
        outbox.emit("rides.RideAssigned", {**ride_data(), "rider_id": rider.pk})
    event = OutboxEvent.objects.get()

    def relay_claims():
        list(OutboxEvent.objects.select_for_update().filter(pk=event.pk))

    with held_by_another_transaction(relay_claims):  # a wait there fails after 2 s
        assert relay.publish_events([event.pk], written=event) == 0

    assert OutboxEvent.objects.get().published_at is None  # the relay's, which let go of it
    assert relay.relay_events()["published"] == 1
    assert Notification.objects.filter(user=rider).count() == 1


def test_events_delivered_inline_while_the_relay_runs_reach_each_subscriber_once():
    """Three processes committing payments, each delivering its event right after its
    commit, while a relay keeps passing over the outbox (real threads, own connections):
    each event is claimed by one of them and processed once by each subscriber."""
    riders = [UserFactory() for _ in range(3)]
    roles, lock, done = iter(["relay", 0, 1, 2]), threading.Lock(), threading.Event()
    committed = []

    def run():
        with lock:
            role = next(roles)
        if role == "relay":
            while not done.is_set():
                relay.relay_events()
            return
        try:
            for n in range(5):
                register(payer=riders[role], reference=f"I-{role}-{n}")
        finally:  # the relay stops once every committer is through
            with lock:
                committed.append(role)
                if len(committed) == 3:
                    done.set()

    hook = relay.publish_after_commit

    def late(event):  # slow to go on after its commit: the relay may get there first
        time.sleep(random.random() / 100)
        hook(event)

    with mock.patch.object(relay, "publish_after_commit", late):
        all_at_once(4, run)

    assert not OutboxEvent.objects.filter(published_at__isnull=True).exists()
    assert Notification.objects.count() == 15
    assert ProcessedEvent.objects.filter(subscriber="bi").count() == 15
    assert ProcessedEvent.objects.filter(subscriber="notifications").count() == 15
    registered = DailyAggregate.objects.aggregate(total=Sum("payments_registered"))["total"]
    assert registered == 15  # a day may have a row per writer at once: added up
    assert not Delivery.objects.exists()


def ride_data():
    return {
        "ride_id": str(uuid.uuid4()),
        "reference": "WR-TEST01",
        "status": "assigned",
        "unicorn": "Shadowfax",
        "unicorn_color": "white",
        "unicorn_pronoun": "his",
    }
