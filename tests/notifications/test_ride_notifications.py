"""The notifications subscriber on ride events: a whole batch, riders who are gone left out."""

import uuid

import pytest
from django.utils import timezone

from notifications import subscribers
from notifications.models import Notification
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def ride_event(rider_id, kind="RideAssigned", reference="WR-TEST01"):
    return {
        "id": str(uuid.uuid4()),
        "type": f"rides.{kind}",
        "version": 1,
        "occurred_at": timezone.now().isoformat(),
        "data": {
            "ride_id": str(uuid.uuid4()),
            "reference": reference,
            "rider_id": rider_id,
            "status": "assigned",
            "unicorn": "Shadowfax",
            "unicorn_color": "white",
            "unicorn_pronoun": "his",
            "boarding_minutes": 5,
        },
    }


def test_a_batch_tells_each_rider_who_exists_and_leaves_out_one_who_is_gone():
    rider, other = UserFactory(), UserFactory()
    batch = [
        ride_event(rider.pk, reference="WR-AAAAAA"),
        ride_event(987654, reference="WR-GONE00"),  # deleted before the event went out
        ride_event(other.pk, reference="WR-BBBBBB"),
        ride_event(rider.pk, kind="RideArrived", reference="WR-AAAAAA"),
        ride_event(None, reference="WR-NOBODY"),
    ]

    subscribers.handle_batch(batch)

    told = Notification.objects.order_by("id")
    assert [(n.user_id, n.message) for n in told] == [
        (rider.pk, "Shadowfax, your white unicorn, is on his way (WR-AAAAAA)."),
        (other.pk, "Shadowfax, your white unicorn, is on his way (WR-BBBBBB)."),
        (rider.pk, "Shadowfax has arrived. Giddy up! Board within 5 minutes. (WR-AAAAAA)"),
    ]
    sent = {e["id"]: e for e in batch}
    for notification in told:
        event = sent[str(notification.event_id)]
        assert (notification.event_type, str(notification.ride_id)) == (
            event["type"],
            event["data"]["ride_id"],
        )
        assert notification.read_at is None and notification.created_at is not None
