"""The outbox and in-process delivery, with real commits (transactional tests)."""

from datetime import timedelta
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from bi.models import DailyAggregate
from events import services
from events.models import Delivery, OutboxEvent, ProcessedEvent
from notifications.models import Notification
from payments import services as payments
from rides import services as rides
from tests.factories import RideFactory, UnicornFactory, UserFactory

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
    assert set(Delivery.objects.values_list("subscriber", "status")) == {
        ("bi", "delivered"),
        ("notifications", "delivered"),
    }


def test_completed_ride_registers_its_fare_once_and_feeds_bi():
    rider = UserFactory()
    UnicornFactory(name="Bucephalus")
    ride = rides.request_ride(rider=rider, pickup=rides.Point(47.6062, -122.3321))
    rides.complete_ride(ride=ride, by=rider)
    with pytest.raises(rides.Conflict):
        rides.complete_ride(ride=ride, by=rider)

    assert ride.payments.count() == 1
    assert payments.register_fare_payment(ride=ride, actor="retry") == ride.payments.get()
    today = DailyAggregate.objects.get(day=timezone.localdate())
    assert (today.rides_completed, today.revenue_minor) == (1, ride.fare_minor)
    assert Notification.objects.filter(user=rider).count() == 1


def test_rolled_back_change_publishes_nothing():
    rider = UserFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        register(payer=rider)
        raise RuntimeError("the request failed after the payment was written")
    assert not OutboxEvent.objects.exists()
    assert not Notification.objects.exists()


def test_crash_between_commit_and_publish_is_caught_up_by_the_relay():
    rider = UserFactory()
    with mock.patch.object(services, "publish_events"):  # the process "dies" after commit
        register(payer=rider)
    assert OutboxEvent.objects.get().published_at is None
    assert not Notification.objects.exists()

    call_command("relay_events")
    call_command("relay_events")  # running it again changes nothing

    assert Notification.objects.filter(user=rider).count() == 1
    assert OutboxEvent.objects.get().published_at is not None


def test_redelivered_event_changes_nothing():
    rider = UserFactory()
    register(payer=rider)
    event = OutboxEvent.objects.get()
    notifications = services.registry.subscriber("notifications")

    assert services.process_event(notifications, event.envelope()) is False
    assert Notification.objects.count() == 1
    assert ProcessedEvent.objects.filter(event_id=event.id).count() == 2  # bi + notifications


def test_failing_subscriber_is_retried_with_backoff_then_dead_lettered(settings):
    settings.EVENTS_MAX_ATTEMPTS = 3
    rider = UserFactory()
    with mock.patch("notifications.subscribers.handle_event", side_effect=ValueError("boom")):
        register(payer=rider)
        delivery = Delivery.objects.get(subscriber="notifications")
        assert (delivery.status, delivery.attempts) == ("pending", 1)
        assert delivery.next_attempt_at > timezone.now()

        for _ in range(2):
            Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
            services.relay_events()

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("dead", 3)
    assert "ValueError: boom" in delivery.last_error
    assert Delivery.objects.get(subscriber="bi").status == "delivered"
    assert not Notification.objects.exists()

    assert services.replay_dead_letter(delivery) is True
    assert services.replay_dead_letter(delivery) is True  # a second replay delivers nothing new
    assert Notification.objects.filter(user=rider).count() == 1


def test_backoff_doubles():
    assert [services.backoff(n) for n in (1, 2, 3)] == [
        timedelta(seconds=2),
        timedelta(seconds=4),
        timedelta(seconds=8),
    ]
