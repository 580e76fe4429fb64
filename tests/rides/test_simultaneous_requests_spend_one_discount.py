"""One rider's simultaneous ride requests (two tabs, as the ride page sends them: each with
its own Idempotency-Key) book one ride: the refused ones leave no unicorn taken, no
discount recorded and no money spent from the campaign's budget (real threads, each with
its own connection, on whichever database the pass runs)."""

import uuid

import pytest
from rest_framework.test import APIClient

from promos.models import DiscountAward
from promos.selectors import budget_spent_minor
from rides.models import Ride, Unicorn
from tests.concurrency import all_at_once
from tests.factories import CampaignFactory, UnicornFactory, UserFactory

SEATTLE = {"latitude": 47.6062, "longitude": -122.3321}


@pytest.mark.django_db(transaction=True)
def test_simultaneous_requests_of_one_rider_spend_one_discount():
    UnicornFactory.create_batch(6)
    campaign = CampaignFactory(tiers=[("0.50", 1)], budget_minor=100_000)
    rider = UserFactory()

    def request():
        client = APIClient()
        client.force_authenticate(rider)
        return client.post(
            "/api/rides/", {"pickup": SEATTLE}, format="json",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        )  # fmt: skip

    responses = all_at_once(6, request)

    assert sorted(r.status_code for r in responses) == [201] + [409] * 5
    [booked] = [r.json() for r in responses if r.status_code == 201]
    ride = Ride.objects.get()
    assert str(ride.id) == booked["id"] and ride.discount_multiplier == 0.5
    assert Unicorn.objects.filter(is_available=False).count() == 1
    kept = DiscountAward.objects.filter(released_at__isnull=True, discount_minor__gt=0)
    assert [award.ride_id for award in kept] == [ride.id]
    assert budget_spent_minor(campaign.pk) == ride.base_fare_minor - ride.fare_minor > 0
