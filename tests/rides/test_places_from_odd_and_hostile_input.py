"""Places named from odd and hostile input: a coordinate no float holds, a place a client
makes up. Nothing answers 500, and a place is only ever the server's."""

import math

import pytest

from rides.models import Ride
from rides.places import place_near
from rides.services import ride_completed_data
from tests.factories import RideFactory, UnicornFactory

CAPITOL_HILL = {"latitude": 47.6253, "longitude": -122.3222}
FREMONT = {"latitude": 47.6510, "longitude": -122.3500}


@pytest.mark.parametrize(
    "latitude, longitude",
    [
        (math.inf, -122.3222),
        (-math.inf, -122.3222),
        (47.6253, math.inf),
        (math.nan, -122.3222),
        (47.6253, math.nan),
        (1e308, -1e308),
        (90.0, -122.3222),
    ],
)
def test_a_point_no_map_holds_has_no_place_and_raises_nothing(latitude, longitude):
    # A stored row the API never wrote (PostgreSQL keeps 'Infinity'), read by the admin's
    # ride page, the receipt page, the ride answer or the RideCompleted event.
    assert place_near(latitude, longitude) is None


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["inf", "-Infinity", "nan", "1e400", "0x10", "47,6"])
def test_the_estimate_refuses_a_coordinate_that_is_no_number_of_degrees(rider_api, value):
    answer = rider_api.get(
        "/api/rides/estimate/", {"pickup_latitude": value, "pickup_longitude": "-122.3"}
    )
    assert answer.status_code == 400


@pytest.mark.django_db
def test_a_place_sent_by_a_client_is_neither_kept_nor_echoed(rider_api):
    UnicornFactory()
    body = {
        "pickup": {**CAPITOL_HILL, "place": "<b>Buckingham Palace</b>"},
        "dropoff": {**FREMONT, "place": "Free ride\r\nTo: anywhere"},
    }

    created = rider_api.post("/api/rides/", body, format="json")

    assert created.status_code == 201, created.content
    ride = created.json()
    assert ride["pickup"] == {**CAPITOL_HILL, "place": "Capitol Hill"}
    assert ride["dropoff"] == {**FREMONT, "place": "Fremont"}
    again = rider_api.get(f"/api/rides/{ride['id']}/").content.decode()
    assert "Buckingham" not in again and "anywhere" not in again


@pytest.mark.django_db
def test_a_retry_that_adds_a_place_replays_the_ride_with_the_servers_places(rider_api):
    """A retry that sends a `place` (an API client echoing the answer's pickup back, or
    one that lies) is the same trip: the first answer again, never a second ride, and the
    places stay the server's. Another trip under the key is a different request."""
    UnicornFactory()
    headers = {"HTTP_IDEMPOTENCY_KEY": "c0ffee00-0000-4000-8000-000000000001"}
    body = {"pickup": CAPITOL_HILL, "dropoff": FREMONT}
    first = rider_api.post("/api/rides/", body, format="json", **headers)
    assert first.status_code == 201

    retry = rider_api.post(
        "/api/rides/",
        {"pickup": {**CAPITOL_HILL, "place": "Fremont"}, "dropoff": FREMONT},
        format="json",
        **headers,
    )

    assert retry.status_code == 201
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json()["id"] == first.json()["id"]
    assert retry.json()["pickup"]["place"] == "Capitol Hill"
    assert Ride.objects.count() == 1
    elsewhere = {"pickup": CAPITOL_HILL, "dropoff": {"latitude": 47.6615, "longitude": -122.334}}
    assert rider_api.post("/api/rides/", elsewhere, format="json", **headers).status_code == 422


@pytest.mark.django_db
def test_the_estimate_names_places_itself_whatever_the_body_says(rider_api):
    body = {
        "pickup": {**CAPITOL_HILL, "place": "<script>alert(1)</script>"},
        "dropoff": {**FREMONT, "place": "Paris"},
        "pickup_place": "Paris",
    }

    answer = rider_api.post("/api/rides/estimate/", body, format="json")

    assert answer.status_code == 200
    assert (answer.json()["pickup_place"], answer.json()["dropoff_place"]) == (
        "Capitol Hill",
        "Fremont",
    )


@pytest.mark.django_db
def test_a_stored_ride_at_infinity_still_has_its_receipt_and_admin_page(
    client, rider, admin_client
):
    ride = RideFactory(rider=rider, status=Ride.Status.COMPLETED, pickup_latitude=math.inf)
    ride.refresh_from_db()  # PostgreSQL and SQLite both keep it
    client.force_login(rider)

    assert client.get(f"/history/{ride.id}/").status_code == 200
    assert admin_client.get(f"/admin/rides/ride/{ride.id}/change/").status_code == 200
    assert ride_completed_data(ride)["pickup_place"] is None
