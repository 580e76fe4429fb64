"""A rider has at most one active ride: a second request is 409 with a sentence, also
when the requests race (real threads, each with its own connection, on whichever database
the suite runs: SQLite by default, PostgreSQL in the second pass)."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from promos.models import DiscountAward
from rides import lifecycle
from rides.models import Ride, Unicorn
from tests.concurrency import all_at_once
from tests.factories import (
    CampaignFactory,
    RideFactory,
    UnicornFactory,
    UserFactory,
    ride_in_progress,
)

SEATTLE = {"latitude": 47.6062, "longitude": -122.3321}


@pytest.mark.django_db
def test_a_second_request_is_409_and_books_nothing(rider_api):
    UnicornFactory.create_batch(2)
    CampaignFactory(tiers=[("0.50", 1)], budget_minor=10_000)
    first = rider_api.post("/api/rides/", {"pickup": SEATTLE})
    second = rider_api.post("/api/rides/", {"pickup": SEATTLE})
    assert second.status_code == 409
    reference = first.json()["reference"]
    assert second.json()["detail"] == (
        f"You already have a ride ({reference}): {first.json()['unicorn']['name']} is on the "
        "way to you. Finish or cancel it before you request another."
    )
    assert Ride.objects.count() == 1
    assert Unicorn.objects.filter(is_available=True).count() == 1
    assert DiscountAward.objects.count() == 1


@pytest.mark.django_db
def test_the_idempotent_replay_is_still_a_replay(rider_api):
    UnicornFactory.create_batch(2)
    first = rider_api.post("/api/rides/", {"pickup": SEATTLE}, HTTP_IDEMPOTENCY_KEY="k1")
    again = rider_api.post("/api/rides/", {"pickup": SEATTLE}, HTTP_IDEMPOTENCY_KEY="k1")
    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert (
        rider_api.post("/api/rides/", {"pickup": SEATTLE}, HTTP_IDEMPOTENCY_KEY="k2").status_code
        == 409
    )


@pytest.mark.django_db
def test_after_the_ride_ends_the_rider_can_request_again(rider_api, rider):
    UnicornFactory()
    ride = ride_in_progress(rider=rider)
    assert rider_api.post("/api/rides/", {"pickup": SEATTLE}).status_code == 409
    rider_api.post(f"/api/rides/{ride.id}/complete/")
    assert rider_api.post("/api/rides/", {"pickup": SEATTLE}).status_code == 201


@pytest.mark.django_db(transaction=True)
def test_simultaneous_requests_of_one_rider_book_one_ride():
    UnicornFactory.create_batch(8)
    rider = UserFactory()

    def request():
        client = APIClient()
        client.force_authenticate(rider)
        return client.post("/api/rides/", {"pickup": SEATTLE}, format="json")

    statuses = [response.status_code for response in all_at_once(8, request)]
    assert sorted(statuses) == [201] + [409] * 7
    assert Ride.objects.filter(rider=rider).count() == 1
    assert Unicorn.objects.filter(is_available=False).count() == 1


@pytest.mark.django_db
def test_a_no_show_nobody_looked_at_does_not_block_the_next_ride(rider_api, rider):
    """The rider never came and nobody read the ride since: it is still "assigned" in the
    database when the next request comes; that request ends it (expired) and books."""
    UnicornFactory()
    no_show = RideFactory(rider=rider, arrives_at=timezone.now() - 2 * lifecycle.boarding_window())
    response = rider_api.post("/api/rides/", {"pickup": SEATTLE})
    assert response.status_code == 201
    no_show.refresh_from_db()
    assert no_show.status == Ride.Status.EXPIRED
    assert Ride.objects.filter(rider=rider, status=Ride.Status.ASSIGNED).count() == 1


@pytest.mark.django_db
def test_with_no_unicorn_free_a_rider_on_a_ride_still_hears_of_that_ride(rider_api, rider):
    ride = ride_in_progress(rider=rider)  # its unicorn is the only one, and busy
    response = rider_api.post("/api/rides/", {"pickup": SEATTLE})
    assert response.status_code == 409
    assert f"You already have a ride ({ride.reference})" in response.json()["detail"]
    assert Ride.objects.count() == 1


@pytest.mark.django_db
def test_a_reference_already_taken_books_the_ride_under_a_new_one(rider_api, monkeypatch):
    """References are 6 random letters: with a million rides, about one booking in 900
    draws one that is taken. The rider still gets the ride (and one discount), once."""
    UnicornFactory.create_batch(2)
    CampaignFactory(tiers=[("0.50", 1)], budget_minor=10_000)
    taken = RideFactory(status=Ride.Status.COMPLETED).reference
    draws = iter([taken, "WR-FRESH2"])
    monkeypatch.setattr("rides.services.new_reference", lambda: next(draws))
    response = rider_api.post("/api/rides/", {"pickup": SEATTLE}, HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 201
    assert response.json()["reference"] == "WR-FRESH2"
    assert Ride.objects.filter(reference="WR-FRESH2").count() == 1
    assert DiscountAward.objects.filter(ride_id=response.json()["id"]).count() == 1
    assert Unicorn.objects.filter(is_available=False).count() == 2  # the old ride's, and this
