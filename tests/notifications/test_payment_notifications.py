"""The notifications subscriber on payment events: what each payer reads, for a whole batch
at a fixed cost."""

import uuid

import pytest
from django.utils import timezone

from notifications import subscribers
from notifications.models import Notification
from tests.conftest import client_for
from tests.factories import RideFactory, UnicornFactory, UserFactory

pytestmark = pytest.mark.django_db


def payment_event(payer=None, ride=None, *, kind="payments.PaymentRegistered", amount=1250):
    return {
        "id": str(uuid.uuid4()),
        "type": kind,
        "version": 1,
        "occurred_at": timezone.now().isoformat(),
        "data": {
            "payment_id": str(uuid.uuid4()),
            "reference": f"INV-{uuid.uuid4().hex[:6]}",
            "amount_minor": amount,
            "currency": "USD",
            "payer_id": payer.pk if payer else None,
            "ride_id": str(ride.pk) if ride else None,
        },
    }


def test_each_payer_is_told_about_their_payment_and_ride():
    riders = [UserFactory() for _ in range(3)]
    rides = [
        RideFactory(rider=rider, unicorn=UnicornFactory(name=name, is_available=False))
        for rider, name in zip(riders, ["Shadowfax", "Bucephalus", "Pegasus"], strict=True)
    ]
    batch = [payment_event(rider, ride) for rider, ride in zip(riders, rides, strict=True)]
    batch.append(payment_event(riders[0], kind="payments.PaymentVerified", amount=990))

    subscribers.handle_batch(batch)

    assert sorted(Notification.objects.values_list("user__email", "message")) == sorted(
        [
            (riders[0].email, "Payment of $12.50 registered for your ride with Shadowfax"),
            (riders[1].email, "Payment of $12.50 registered for your ride with Bucephalus"),
            (riders[2].email, "Payment of $12.50 registered for your ride with Pegasus"),
            (riders[0].email, "Payment of $9.90 confirmed"),
        ]
    )
    assert {str(n.event_id) for n in Notification.objects.all()} == {e["id"] for e in batch}


def test_a_payment_notification_links_to_its_ride_as_ride_notifications_do():
    rider = UserFactory()
    unicorn = UnicornFactory(name="Rocinante", is_available=False)
    ride = RideFactory(rider=rider, unicorn=unicorn, status="completed")
    gone = RideFactory(rider=rider, status="completed")
    batch = [payment_event(rider, ride), payment_event(rider, amount=990)]
    batch.append(payment_event(rider, gone, amount=500))
    gone.delete()

    subscribers.handle_batch(batch)

    listed = client_for(rider).get("/api/notifications/").json()["results"]
    assert sorted((n["message"], n["ride"]) for n in listed) == [
        ("Payment of $12.50 registered for your ride with Rocinante", str(ride.pk)),
        ("Payment of $5.00 registered", None),  # its ride is gone: no link to nothing
        ("Payment of $9.90 registered", None),
    ]


def test_payments_without_a_rider_account_tell_nobody():
    subscribers.handle_batch([payment_event(None), payment_event(None)])
    assert not Notification.objects.exists()


def test_a_ride_that_no_longer_exists_leaves_the_unicorn_out():
    rider = UserFactory()
    gone = RideFactory(rider=rider)
    event = payment_event(rider, gone)
    gone.delete()

    subscribers.handle_event(event)

    assert Notification.objects.get().message == "Payment of $12.50 registered"


@pytest.mark.parametrize("size", [1, 20])
def test_a_batch_costs_the_same_few_queries_whatever_its_size(size, django_assert_num_queries):
    """Payers, unicorns (and whether the rides exist), one insert: not a query per ride."""
    riders = [UserFactory() for _ in range(size)]
    batch = [payment_event(rider, RideFactory(rider=rider)) for rider in riders]

    with django_assert_num_queries(3):
        subscribers.handle_batch(batch)

    assert Notification.objects.count() == size
    assert Notification.objects.filter(ride_id__isnull=False).count() == size  # each its ride
