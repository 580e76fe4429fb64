"""Every way a client can get a ride request wrong: a 4xx with a sentence, nothing recorded."""

import uuid

import pytest

from rides.models import Ride, Unicorn
from tests.factories import RideFactory, UnicornFactory

pytestmark = pytest.mark.django_db

SEATTLE = {"latitude": 47.6062, "longitude": -122.3321}


@pytest.fixture(autouse=True)
def fleet(db):
    return UnicornFactory.create_batch(3)


def assert_nothing_recorded():
    assert not Ride.objects.exists()
    assert Unicorn.objects.filter(is_available=False).count() == 0


def post_raw(client, body: str, content_type="application/json"):
    return client.generic("POST", "/api/rides/", body, content_type=content_type)


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "pickup"),
        ({"pickup": None}, "pickup"),
        ({"pickup": "Seattle"}, "pickup"),
        ({"pickup": {"latitude": 47.6}}, "pickup"),
        ({"pickup": {"longitude": -122.3}}, "pickup"),
        ({"pickup": {"latitude": "47.6", "longitude": -122.3}}, "pickup"),
        ({"pickup": {"latitude": True, "longitude": -122.3}}, "pickup"),
        ({"pickup": {"latitude": 91, "longitude": -122.3}}, "pickup"),
        ({"pickup": {"latitude": -90.5, "longitude": -122.3}}, "pickup"),
        ({"pickup": {"latitude": 47.6, "longitude": 180.01}}, "pickup"),
        ({"pickup": {"latitude": 47.6, "longitude": "NaN"}}, "pickup"),
        ({"pickup": SEATTLE, "dropoff": {"latitude": 47.6}}, "dropoff"),
        ({"pickup": SEATTLE, "dropoff": [1, 2]}, "dropoff"),
    ],
)
def test_bad_fields_are_400_naming_the_field(rider_api, body, field):
    response = rider_api.post("/api/rides/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert_nothing_recorded()


def test_out_of_range_latitude_says_the_range(rider_api):
    response = rider_api.post("/api/rides/", {"pickup": {"latitude": 100, "longitude": 0}})
    assert response.json()["pickup"]["latitude"] == ["Must be between -90 and 90 degrees."]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_nan_and_infinity_literals_are_refused(rider_api, literal):
    response = post_raw(rider_api, f'{{"pickup": {{"latitude": {literal}, "longitude": 0}}}}')
    assert response.status_code == 400
    body = response.json()
    assert body.get("detail") or body["pickup"]["latitude"] == [
        "Must be a finite number of degrees."
    ]
    assert_nothing_recorded()


@pytest.mark.parametrize("body", ["{", "pickup=1", "", "[]", "null", '"text"'])
def test_malformed_or_non_object_json_is_400(rider_api, body):
    response = post_raw(rider_api, body)
    assert response.status_code == 400
    assert_nothing_recorded()


def test_malformed_json_gets_a_plain_sentence(rider_api):
    response = post_raw(rider_api, "{")
    assert response.json() == {"detail": "The request body is not valid JSON."}


def test_non_json_content_type_is_415(rider_api):
    response = post_raw(rider_api, "pickup=1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert "JSON" in response.json()["detail"]


def test_oversize_body_is_413_before_parsing(rider_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    padding = "x" * 2000
    response = post_raw(
        rider_api, f'{{"pickup": {{"latitude": 47.6, "longitude": -122.3}}, "p": "{padding}"}}'
    )
    assert response.status_code == 413
    assert "too large" in response.json()["detail"]
    assert_nothing_recorded()


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_wrong_method_on_the_collection_is_405(rider_api, method):
    response = getattr(rider_api, method)("/api/rides/")
    assert response.status_code == 405
    assert "not allowed" in response.json()["detail"]


def test_get_on_cancel_is_405(rider_api, rider):
    ride = RideFactory(rider=rider)
    assert rider_api.get(f"/api/rides/{ride.id}/cancel/").status_code == 405


@pytest.mark.parametrize(
    "method, path",
    [
        ("post", "/api/rides/"),
        ("get", "/api/rides/"),
        ("get", "/api/rides/{id}/"),
        ("post", "/api/rides/{id}/cancel/"),
        ("post", "/api/rides/{id}/complete/"),
        ("post", "/api/rides/estimate/"),
    ],
)
def test_no_credentials_is_401(api, rider, method, path):
    ride = RideFactory(rider=rider)
    response = getattr(api, method)(path.format(id=ride.id), {"pickup": SEATTLE}, format="json")
    assert response.status_code == 401
    assert "Sign in" in response.json()["detail"]
    ride.refresh_from_db()
    assert ride.status == "assigned"


@pytest.mark.parametrize("path", ["/api/rides/{id}/", "/api/rides/{id}/cancel/"])
def test_unknown_or_malformed_ride_id_is_404(rider_api, path):
    assert rider_api.get(f"/api/rides/{uuid.uuid4()}/").status_code == 404
    response = rider_api.post(path.format(id="not-a-uuid"))
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_overlong_idempotency_key_is_400(rider_api):
    response = rider_api.post("/api/rides/", {"pickup": SEATTLE}, HTTP_IDEMPOTENCY_KEY="k" * 300)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["detail"]
    assert_nothing_recorded()


@pytest.mark.parametrize("key", ["ride\x00one", "ride\x1bone", "\x7f"])
def test_an_idempotency_key_with_a_control_character_is_400(rider_api, key):
    """A NUL in the key was a 500 on PostgreSQL (its text holds no NUL) and a booked ride on
    SQLite."""
    response = rider_api.post("/api/rides/", {"pickup": SEATTLE}, HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Idempotency-Key must be between 1 and 255 characters, with no control "
        "characters."
    }
    assert_nothing_recorded()


def test_discount_in_the_request_is_ignored(rider_api):
    body = {"pickup": SEATTLE, "discount_multiplier": "0.01"}
    response = rider_api.post("/api/rides/", body, format="json")
    assert response.status_code == 201
    assert response.json()["discount_multiplier"] == "1.00"


def test_bad_page_number_is_404(rider_api):
    response = rider_api.get("/api/rides/?page=99")
    assert response.status_code == 404
    assert response.json()["detail"]
