import pytest
from rest_framework.test import APIClient

from promos.models import DiscountAward
from promos.selectors import budget_spent_minor
from tests.conftest import client_for
from tests.factories import CampaignFactory, ServiceKeyFactory

pytestmark = pytest.mark.django_db

URL = "/api/promos/discounts/"
BODY = {"username": "rider@example.com", "latitude": 47.6062, "longitude": -122.3321}


def key_client(key) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


@pytest.fixture
def service_api():
    return key_client(ServiceKeyFactory().plain_key)


def test_service_key_draws_and_the_award_is_recorded(service_api):
    CampaignFactory(name="Unicorn Tuesday", tiers=[("0.75", 1)])
    response = service_api.post(URL, BODY)
    assert response.status_code == 201
    body = response.json()
    assert body["discount_multiplier"] == "0.75"
    assert body["campaign"] == "Unicorn Tuesday"
    assert body["label"] == "Unicorn Tuesday: 25% off"
    assert DiscountAward.objects.get(pk=body["id"]).username == "rider@example.com"


def test_fare_in_the_request_is_charged_to_the_budget(service_api):
    campaign = CampaignFactory(budget_minor=10_000, tiers=[("0.50", 1)])
    body = {**BODY, "fare": {"amount": "12.50", "currency": "USD"}}
    assert service_api.post(URL, body).status_code == 201
    assert budget_spent_minor(campaign.pk) == 625


def test_staff_may_draw(operator):
    assert client_for(operator).post(URL, BODY).status_code == 201


def test_the_ride_service_releases_an_unbooked_rides_award(service_api):
    campaign = CampaignFactory(budget_minor=10_000, tiers=[("0.50", 1)])
    ride_id = "9b2f6a52-0d0e-4a4c-9a51-4d7c0a3c1f10"
    body = {**BODY, "ride_id": ride_id, "fare": {"amount": "12.50", "currency": "USD"}}
    assert service_api.post(URL, body).status_code == 201
    response = service_api.post(URL + "release/", {"ride_id": ride_id})
    assert response.status_code == 200 and response.json()["released"] == 1
    assert budget_spent_minor(campaign.pk) == 0


@pytest.mark.parametrize("role", ["operator", "finance"])
def test_staff_cannot_give_a_rides_discount_back_to_the_budget(service_api, request, role):
    """The ride keeps its discount: a release by hand would let the budget spend it twice."""
    campaign = CampaignFactory(budget_minor=10_000, tiers=[("0.50", 1)])
    ride_id = "9b2f6a52-0d0e-4a4c-9a51-4d7c0a3c1f10"
    body = {**BODY, "ride_id": ride_id, "fare": {"amount": "12.50", "currency": "USD"}}
    assert service_api.post(URL, body).status_code == 201
    staff = client_for(request.getfixturevalue(role))
    response = staff.post(URL + "release/", {"ride_id": ride_id}, format="json")
    assert response.status_code == 403
    assert "service" in response.json()["detail"]
    assert budget_spent_minor(campaign.pk) == 625
    assert DiscountAward.objects.get(ride_id=ride_id).released_at is None


def test_riders_are_refused_with_403(rider_api):
    response = rider_api.post(URL, BODY)
    assert response.status_code == 403
    assert "services and staff" in response.json()["detail"]
    assert not DiscountAward.objects.exists()


def test_anonymous_is_401(api):
    response = api.post(URL, BODY)
    assert response.status_code == 401
    assert not DiscountAward.objects.exists()


def test_wrong_service_key_is_401():
    response = key_client("abcd1234.wrongsecret").post(URL, BODY)
    assert response.status_code == 401
    assert response.json()["detail"] == "That service key is not valid."


def test_revoked_service_key_is_401():
    key = ServiceKeyFactory()
    key.revoked = True
    key.save()
    assert key_client(key.plain_key).post(URL, BODY).status_code == 401


def test_service_key_is_stored_hashed():
    key = ServiceKeyFactory()
    secret = key.plain_key.split(".", 1)[1]
    key.refresh_from_db()
    assert secret not in key.hashed_key
    assert key.hashed_key.startswith("sha512$$")


def test_a_free_ride_is_a_fare_of_zero(service_api):
    body = {**BODY, "fare": {"amount": "0.00", "currency": "USD"}}

    assert service_api.post(URL, body).status_code == 201


@pytest.mark.parametrize(
    "change",
    [
        {"username": ""},
        {"latitude": 95},
        {"longitude": "east"},
        {"latitude": None},
        {"fare": {"amount": "-1.00", "currency": "USD"}},
        {"fare": {"amount": "1.001", "currency": "USD"}},
        {"fare": {"amount": "5.00", "currency": "EUR"}},
        {"fare": {"amount": 12.5, "currency": "USD"}},  # a float is not money
        {"fare": {"amount": "1e3", "currency": "USD"}},
        {"fare": {"amount": "100000.01", "currency": "USD"}},
        {"ride_id": "not-a-uuid"},
    ],
)
def test_bad_input_is_400_and_records_nothing(service_api, change):
    response = service_api.post(URL, {**BODY, **change})
    assert response.status_code == 400
    assert set(change) <= set(response.json())
    assert not DiscountAward.objects.exists()


def test_missing_fields_are_400(service_api):
    response = service_api.post(URL, {})
    assert response.status_code == 400
    assert {"username", "latitude", "longitude"} <= set(response.json())


def test_get_is_405(service_api):
    assert service_api.get(URL).status_code == 405


def test_draws_are_throttled_per_key(settings):
    from django.core.cache import cache

    cache.clear()
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"promo_draws": "3/minute"},
    }
    from promos.apis import DiscountDrawThrottle

    rates_before = DiscountDrawThrottle.THROTTLE_RATES
    DiscountDrawThrottle.THROTTLE_RATES = {"promo_draws": "3/minute"}
    try:
        first, second = (
            key_client(ServiceKeyFactory().plain_key),
            key_client(ServiceKeyFactory().plain_key),
        )
        codes = [first.post(URL, BODY).status_code for _ in range(4)]
        assert codes == [201, 201, 201, 429]
        assert second.post(URL, BODY).status_code == 201
    finally:
        # Put back what was there: api_settings still holds this test's rates here, and
        # the class attribute outlives the test (a later test's draws were refused).
        DiscountDrawThrottle.THROTTLE_RATES = rates_before
        cache.clear()
