"""Pickups and drop-offs named by the place riders know ("Capitol Hill"), where one is near;
by their coordinates elsewhere."""

import math

import pytest

from rides.models import Ride
from rides.places import PLACE_RADIUS_KM, place_near
from tests.factories import RideFactory, UnicornFactory

CAPITOL_HILL = (47.6253, -122.3222)
PUGET_SOUND = (47.600, -122.460)  # water between Alki and Bainbridge: 4.6 km from either


def test_a_point_is_named_after_the_place_it_lies_in():
    assert place_near(*CAPITOL_HILL) == "Capitol Hill"
    assert place_near(47.6687, -122.3900) == "Ballard"  # 400 m west of its middle


def test_the_nearest_of_two_neighbouring_places_names_the_point():
    # Between Fremont (47.6510, -122.3500) and Wallingford (47.6615, -122.3340).
    assert place_near(47.6530, -122.3470) == "Fremont"
    assert place_near(47.6590, -122.3370) == "Wallingford"


def test_a_point_far_from_every_place_has_no_name():
    assert place_near(*PUGET_SOUND) is None
    assert place_near(40.7128, -74.0060) is None  # a service area moved to New York


def test_a_name_reaches_no_farther_than_the_radius():
    # Due west of Alki's middle lies only the Sound.
    alki_latitude, alki_longitude = 47.5760, -122.4090
    km_per_degree = 111.195 * math.cos(math.radians(alki_latitude))

    def west(km):
        return place_near(alki_latitude, alki_longitude - km / km_per_degree)

    assert west(0.98 * PLACE_RADIUS_KM) == "Alki"
    assert west(1.02 * PLACE_RADIUS_KM) is None


@pytest.mark.django_db
def test_the_ride_answer_names_its_pickup_and_drop_off(rider_api):
    UnicornFactory()
    body = {
        "pickup": {"latitude": CAPITOL_HILL[0], "longitude": CAPITOL_HILL[1]},
        "dropoff": {"latitude": 47.6510, "longitude": -122.3500},
    }

    ride = rider_api.post("/api/rides/", body, format="json").json()

    assert ride["pickup"] == {**body["pickup"], "place": "Capitol Hill"}
    assert ride["dropoff"] == {**body["dropoff"], "place": "Fremont"}
    listed = rider_api.get("/api/rides/").json()["results"][0]
    assert (listed["pickup"]["place"], listed["dropoff"]["place"]) == ("Capitol Hill", "Fremont")


@pytest.mark.django_db
def test_the_estimate_names_the_places_before_the_ride_is_booked(rider_api):
    answer = rider_api.get(
        "/api/rides/estimate/",
        {
            "pickup_latitude": CAPITOL_HILL[0],
            "pickup_longitude": CAPITOL_HILL[1],
            "dropoff_latitude": PUGET_SOUND[0],
            "dropoff_longitude": PUGET_SOUND[1],
        },
    ).json()

    assert (answer["pickup_place"], answer["dropoff_place"]) == ("Capitol Hill", None)


@pytest.mark.django_db
def test_the_receipt_page_names_the_places_above_their_coordinates(client, rider):
    ride = RideFactory(
        rider=rider,
        status=Ride.Status.COMPLETED,
        pickup_latitude=CAPITOL_HILL[0],
        pickup_longitude=CAPITOL_HILL[1],
        dropoff_latitude=PUGET_SOUND[0],
        dropoff_longitude=PUGET_SOUND[1],
    )
    client.force_login(rider)

    page = client.get(f"/history/{ride.id}/").content.decode()

    assert 'Capitol Hill<span class="place-point">47.6253, -122.3222</span>' in page
    assert "47.6000, -122.4600" in page  # the drop-off: no place near, its coordinates
