import pytest

from rides.models import Ride, Unicorn
from tests.factories import RideFactory, UnicornFactory, arrive_now, ride_in_progress

pytestmark = pytest.mark.django_db

SEATTLE = {"latitude": 47.6062, "longitude": -122.3321}


def near(dlat=0.0, dlon=0.0):
    return {"latitude": SEATTLE["latitude"] + dlat, "longitude": SEATTLE["longitude"] + dlon}


def request_ride(client, **body):
    body.setdefault("pickup", SEATTLE)
    return client.post("/api/rides/", body, format="json")


def test_request_dispatches_the_nearest_free_unicorn(rider_api):
    UnicornFactory(name="Far", latitude=47.70, longitude=-122.33)
    UnicornFactory(name="Near", latitude=47.607, longitude=-122.332)
    UnicornFactory(name="Busy", latitude=47.6062, longitude=-122.3321, is_available=False)
    UnicornFactory(name="Resting", latitude=47.6062, longitude=-122.3321, on_duty=False)

    response = request_ride(rider_api)

    assert response.status_code == 201
    ride = response.json()
    assert ride["unicorn"]["name"] == "Near"
    assert ride["status"] == "assigned"
    assert not Unicorn.objects.get(name="Near").is_available


def test_ride_answer_has_the_contract_fields(rider_api, rider):
    UnicornFactory(name="Shadowfax", color="white", gender="male")
    ride = request_ride(rider_api, dropoff=near(0.01, 0.01)).json()
    assert set(ride) >= {
        "id", "reference", "status", "rider", "unicorn", "eta_seconds", "arrives_at",
        "pickup", "dropoff", "distance_km", "discount_multiplier", "fare", "requested_at",
        "arrived_at", "boarded_at", "completed_at", "cancelled_at", "payment",
    }  # fmt: skip
    assert set(ride["unicorn"]) >= {"name", "color", "gender", "position"}
    assert set(ride["unicorn"]["position"]) == {"latitude", "longitude"}
    assert ride["rider"] == rider.email
    assert ride["unicorn"]["name"] == "Shadowfax"
    assert ride["unicorn"]["color"] == "white"
    assert ride["distance_km"] == pytest.approx(1.34, abs=0.02)
    assert ride["discount_multiplier"] == "1.00"
    assert ride["fare"]["currency"] == "USD"
    assert ride["requested_at"].endswith("Z")


def test_eta_comes_from_distance_and_speed(rider_api, settings):
    settings.UNICORN_SPEED_KMH = 36  # 10 m/s
    UnicornFactory(latitude=SEATTLE["latitude"] + 0.009, longitude=SEATTLE["longitude"])
    ride = request_ride(rider_api).json()
    assert 95 <= ride["eta_seconds"] <= 105  # ~1 km at 10 m/s


def test_fare_is_base_plus_rate_times_distance(rider_api, settings):
    settings.FARE_BASE_MINOR, settings.FARE_PER_KM_MINOR = 300, 200
    UnicornFactory()
    # 0.09 degrees of latitude is 10.0076 km: 300 + round(2001.5) = 2302
    ride = request_ride(rider_api, dropoff=near(0.09)).json()
    assert ride["fare"] == {"amount": "23.02", "currency": "USD"}
    assert Ride.objects.get().fare_minor == 2302


def test_fare_without_dropoff_is_flat(rider_api, settings):
    settings.FARE_FLAT_MINOR = 1250
    UnicornFactory()
    ride = request_ride(rider_api).json()
    assert ride["fare"] == {"amount": "12.50", "currency": "USD"}
    assert ride["dropoff"] is None


def test_no_free_unicorn_is_503_with_retry_after_and_nothing_recorded(rider_api, settings):
    settings.DISPATCH_RETRY_AFTER_SECONDS = 42
    UnicornFactory(is_available=False)
    response = request_ride(rider_api)
    assert response.status_code == 503
    assert response["Retry-After"] == "42"
    assert "Try again in 42 seconds" in response.json()["detail"]
    assert not Ride.objects.exists()


def test_unicorn_beyond_the_dispatch_radius_is_not_sent(rider_api, settings):
    settings.DISPATCH_MAX_RADIUS_KM = 20
    UnicornFactory(latitude=48.5, longitude=-122.33)  # ~100 km north
    assert request_ride(rider_api).status_code == 503


def test_idempotency_key_replays_the_first_answer(rider_api):
    UnicornFactory.create_batch(2)
    first = rider_api.post(
        "/api/rides/", {"pickup": SEATTLE}, format="json", HTTP_IDEMPOTENCY_KEY="abc"
    )
    again = rider_api.post(
        "/api/rides/", {"pickup": SEATTLE}, format="json", HTTP_IDEMPOTENCY_KEY="abc"
    )
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Ride.objects.count() == 1
    assert Unicorn.objects.filter(is_available=True).count() == 1


def test_idempotency_key_reused_for_another_body_is_422(rider_api):
    UnicornFactory.create_batch(2)
    rider_api.post("/api/rides/", {"pickup": SEATTLE}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    other = rider_api.post(
        "/api/rides/", {"pickup": near(0.01)}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert other.status_code == 422
    assert "different request" in other.json()["detail"]
    assert Ride.objects.count() == 1


def test_idempotency_keys_belong_to_one_rider(rider_api, other_rider_api):
    UnicornFactory.create_batch(2)
    a = rider_api.post("/api/rides/", {"pickup": SEATTLE}, HTTP_IDEMPOTENCY_KEY="same")
    b = other_rider_api.post("/api/rides/", {"pickup": SEATTLE}, HTTP_IDEMPOTENCY_KEY="same")
    assert a.json()["id"] != b.json()["id"]


def test_failed_request_does_not_burn_the_idempotency_key(rider_api):
    first = rider_api.post("/api/rides/", {"pickup": SEATTLE}, HTTP_IDEMPOTENCY_KEY="retry")
    assert first.status_code == 503
    UnicornFactory()
    second = rider_api.post("/api/rides/", {"pickup": SEATTLE}, HTTP_IDEMPOTENCY_KEY="retry")
    assert second.status_code == 201


def test_list_shows_own_rides_newest_first_paginated(rider_api, rider, other_rider):
    older = RideFactory(rider=rider, status=Ride.Status.COMPLETED)
    newer = RideFactory(rider=rider)
    RideFactory(rider=other_rider)
    Ride.objects.filter(pk=older.pk).update(requested_at="2026-01-01T10:00:00Z")
    body = rider_api.get("/api/rides/").json()
    assert body["count"] == 2
    assert [r["id"] for r in body["results"]] == [str(newer.id), str(older.id)]
    assert set(body) == {"count", "next", "previous", "results"}


def test_detail_of_own_ride(rider_api, rider):
    ride = RideFactory(rider=rider)
    response = rider_api.get(f"/api/rides/{ride.id}/")
    assert response.status_code == 200
    assert response.json()["id"] == str(ride.id)


def test_detail_of_another_riders_ride_is_404(rider_api, other_rider):
    ride = RideFactory(rider=other_rider)
    response = rider_api.get(f"/api/rides/{ride.id}/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No such ride."}


def test_cancel_frees_the_unicorn(rider_api, rider):
    ride = RideFactory(rider=rider)
    response = rider_api.post(f"/api/rides/{ride.id}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    ride.unicorn.refresh_from_db()
    assert ride.unicorn.is_available


def test_complete_frees_the_unicorn_at_the_dropoff(rider_api, rider):
    ride = ride_in_progress(rider=rider, dropoff_latitude=47.7, dropoff_longitude=-122.4)
    response = rider_api.post(f"/api/rides/{ride.id}/complete/")
    assert response.status_code == 200
    assert response.json()["status"] == "completed"
    assert response.json()["completed_at"]
    ride.unicorn.refresh_from_db()
    assert ride.unicorn.is_available
    assert (ride.unicorn.latitude, ride.unicorn.longitude) == (47.7, -122.4)


@pytest.mark.parametrize(
    "first, second",
    [
        ("complete", "complete"),
        ("complete", "cancel"),
        ("complete", "board"),
    ],
)
def test_second_transition_after_completion_is_409(rider_api, rider, first, second):
    ride = ride_in_progress(rider=rider)
    assert rider_api.post(f"/api/rides/{ride.id}/{first}/").status_code == 200
    response = rider_api.post(f"/api/rides/{ride.id}/{second}/")
    assert response.status_code == 409
    assert "already" in response.json()["detail"]


@pytest.mark.parametrize("second", ["cancel", "complete", "board"])
def test_any_transition_after_a_cancellation_is_409(rider_api, rider, second):
    ride = RideFactory(rider=rider)
    assert rider_api.post(f"/api/rides/{ride.id}/cancel/").status_code == 200
    response = rider_api.post(f"/api/rides/{ride.id}/{second}/")
    assert response.status_code == 409
    assert "already cancelled" in response.json()["detail"]


def test_a_freed_unicorn_can_be_dispatched_again(rider_api, other_rider_api):
    UnicornFactory(name="Only")
    ride = request_ride(rider_api).json()
    assert request_ride(other_rider_api).status_code == 503
    arrive_now(Ride.objects.get(pk=ride["id"]))
    assert rider_api.post(f"/api/rides/{ride['id']}/board/").status_code == 200
    assert rider_api.post(f"/api/rides/{ride['id']}/complete/").status_code == 200
    assert request_ride(other_rider_api).json()["unicorn"]["name"] == "Only"


def test_other_rider_cannot_cancel_or_complete(other_rider_api, rider):
    ride = RideFactory(rider=rider)
    for action in ("cancel", "complete"):
        assert other_rider_api.post(f"/api/rides/{ride.id}/{action}/").status_code == 404
    ride.refresh_from_db()
    assert ride.status == "assigned"


def test_operator_can_cancel_any_ride(operator_api, rider):
    ride = RideFactory(rider=rider)
    response = operator_api.post(f"/api/rides/{ride.id}/cancel/")
    assert response.status_code == 200
    ride.refresh_from_db()
    assert ride.status == "cancelled"


def test_fare_estimate_uses_the_same_rule(rider_api, settings):
    settings.FARE_BASE_MINOR, settings.FARE_PER_KM_MINOR = 300, 200
    response = rider_api.post("/api/rides/estimate/", {"pickup": SEATTLE, "dropoff": near(0.09)})
    assert response.status_code == 200
    assert response.json()["fare"] == {"amount": "23.02", "currency": "USD"}
    assert response.json()["distance_km"] == pytest.approx(10.0, abs=0.02)


def test_fare_estimate_by_query_string_says_how_soon_a_unicorn_comes(rider_api, settings):
    settings.UNICORN_SPEED_KMH = 36  # 10 m/s
    settings.FARE_BASE_MINOR, settings.FARE_PER_KM_MINOR = 300, 200
    UnicornFactory(latitude=SEATTLE["latitude"] + 0.009, longitude=SEATTLE["longitude"])
    response = rider_api.get(
        "/api/rides/estimate/",
        {
            "pickup_latitude": SEATTLE["latitude"],
            "pickup_longitude": SEATTLE["longitude"],
            "dropoff_latitude": SEATTLE["latitude"] + 0.09,
            "dropoff_longitude": SEATTLE["longitude"],
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["fare"] == {"amount": "23.02", "currency": "USD"}
    assert body["distance_km"] == pytest.approx(10.0, abs=0.02)
    assert 95 <= body["eta_seconds"] <= 105


def test_fare_estimate_without_a_free_unicorn_has_no_eta(rider_api):
    query = {"pickup_latitude": SEATTLE["latitude"], "pickup_longitude": SEATTLE["longitude"]}
    body = rider_api.get("/api/rides/estimate/", query).json()
    assert body["eta_seconds"] is None
    assert body["fare"] == {"amount": "12.50", "currency": "USD"}


def test_ride_records_the_discount_drawn_by_the_promo_service(rider_api):
    from promos.models import DiscountAward
    from tests.factories import CampaignFactory

    CampaignFactory(name="Unicorn Tuesday", tiers=[("0.75", 1)])
    UnicornFactory()
    ride = request_ride(rider_api).json()
    assert ride["discount_multiplier"] == "0.75"
    assert ride["discount_label"] == "Unicorn Tuesday: 25% off"
    assert ride["fare"]["amount"] == "9.38"  # flat 12.50 x 0.75, rounded half up
    award = DiscountAward.objects.get()
    assert str(award.ride_id) == ride["id"]
    assert Ride.objects.get().discount_award_id == award.pk


def test_no_unicorn_leaves_no_discount_award_behind(rider_api):
    from promos.models import DiscountAward
    from promos.selectors import budget_spent_minor
    from tests.factories import CampaignFactory

    campaign = CampaignFactory(budget_minor=10_000, tiers=[("0.50", 1)])
    assert request_ride(rider_api).status_code == 503
    assert not DiscountAward.objects.exists()
    assert budget_spent_minor(campaign.pk) == 0


def test_list_filters_by_status(rider_api, rider):
    open_ride = RideFactory(rider=rider)
    RideFactory(rider=rider, status=Ride.Status.COMPLETED)
    body = rider_api.get("/api/rides/", {"status": "assigned"}).json()
    assert [r["id"] for r in body["results"]] == [str(open_ride.id)]
    response = rider_api.get("/api/rides/", {"status": "flying"})
    assert response.status_code == 400
    assert "Unknown status" in response.json()["status"][0]


def test_ride_answer_says_the_unicorns_pronoun(rider_api):
    UnicornFactory(name="Rocinante", gender="female")
    assert request_ride(rider_api).json()["unicorn"]["pronoun"] == "her"
