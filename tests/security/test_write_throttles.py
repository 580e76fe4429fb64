"""Anonymous and per-user write rates: unicorn applications per client address, ride
requests, payments and payment-list uploads per user (or service key).

Beyond the limit: 429 with Retry-After and a sentence, nothing written. Reads are not
counted. The count is atomic (accounts.attempts.count_attempt: a locked row, not DRF's
read-then-write cache history), so concurrent requests cannot push more than the limit
through: proven with real threads on a committed database.
"""

import pytest
from rest_framework.test import APIClient

from accounts import throttles
from payments.models import Payment
from rides.models import Ride, UnicornApplication
from tests import factories
from tests.concurrency import all_at_once
from tests.conftest import client_for

APPLICATION = {"name": "Glimmer", "color": "silver", "gender": "female", "email": "g@example.com"}
PICKUP = {"pickup": {"latitude": 47.6062, "longitude": -122.3321}}


@pytest.fixture
def limits(monkeypatch):
    def set_rate(throttle, rate):
        rates = {**throttle.THROTTLE_RATES, throttle.scope: rate}
        monkeypatch.setattr(throttle, "THROTTLE_RATES", rates)

    return set_rate


def assert_throttled(response):
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    detail = response.json()["detail"]
    assert isinstance(detail, str) and len(detail) > 15


@pytest.mark.django_db
def test_unicorn_applications_are_limited_per_client_address(limits):
    limits(throttles.UnicornApplicationsPerAddress, "3/hour")
    client = APIClient(REMOTE_ADDR="203.0.113.7")
    codes = [client.post("/api/unicorn-applications/", APPLICATION).status_code for _ in range(3)]
    assert codes == [201, 201, 201]
    # A forged X-Forwarded-For does not buy a fresh budget (REMOTE_ADDR is what counts).
    response = client.post(
        "/api/unicorn-applications/", APPLICATION, HTTP_X_FORWARDED_FOR="10.1.2.3"
    )
    assert_throttled(response)
    assert UnicornApplication.objects.count() == 3
    other = APIClient(REMOTE_ADDR="198.51.100.4")
    assert other.post("/api/unicorn-applications/", APPLICATION).status_code == 201


@pytest.mark.django_db
def test_ride_requests_are_limited_per_rider_and_reads_are_free(limits, rider, rider_api):
    limits(throttles.RideRequestsPerUser, "2/minute")
    factories.UnicornFactory.create_batch(3)
    assert rider_api.post("/api/rides/", PICKUP).status_code == 201
    assert rider_api.post("/api/rides/", PICKUP).status_code in (201, 409)  # counted either way
    for _ in range(5):
        assert rider_api.get("/api/rides/").status_code == 200
    before = Ride.objects.count()
    assert_throttled(rider_api.post("/api/rides/", PICKUP))
    assert Ride.objects.count() == before
    # Another rider has a budget of their own.
    assert client_for(factories.UserFactory()).post("/api/rides/", PICKUP).status_code == 201


@pytest.mark.django_db
def test_payments_are_limited_per_user(limits, finance):
    limits(throttles.PaymentsPerCaller, "2/minute")
    api = client_for(finance)
    bodies = [{"amount": "1.00", "currency": "USD", "reference": f"T-{n}"} for n in range(3)]
    assert [api.post("/api/payments/", body).status_code for body in bodies[:2]] == [201, 201]
    assert_throttled(api.post("/api/payments/", bodies[2]))
    assert Payment.objects.count() == 2
    assert api.get("/api/payments/").status_code == 200


@pytest.mark.django_db
def test_uploads_are_limited_per_user(limits, finance, settings, tmp_path):
    from tests.payment_lists.lists import csv_file, good_rows

    settings.MEDIA_ROOT = tmp_path
    settings.PAYMENT_LIST_RUNNER = "inline"
    limits(throttles.UploadsPerCaller, "1/hour")
    factories.OrganizationFactory().members.add(finance)
    api = client_for(finance)
    first = api.post("/api/payment-lists/", {"file": csv_file(good_rows(1))}, format="multipart")
    assert first.status_code == 202
    again = api.post("/api/payment-lists/", {"file": csv_file(good_rows(1))}, format="multipart")
    assert_throttled(again)


def test_the_rates_are_settings_an_operator_can_read(settings):
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    for scope in ("unicorn_applications", "ride_requests", "payments", "uploads"):
        assert scope in rates


@pytest.mark.django_db(transaction=True)
def test_concurrent_applications_cannot_push_past_the_limit(limits):
    """12 threads at once from one address, limit 4: exactly 4 stored, 8 refused."""
    limits(throttles.UnicornApplicationsPerAddress, "4/hour")

    def apply():
        client = APIClient(REMOTE_ADDR="203.0.113.50")
        return client.post("/api/unicorn-applications/", APPLICATION)

    responses = all_at_once(12, apply)
    codes = [response.status_code for response in responses]
    assert sorted(codes) == [201] * 4 + [429] * 8
    assert UnicornApplication.objects.count() == 4


def test_api_gateways_source_ip_replaces_a_forged_x_forwarded_for():
    """On AWS, Zappa takes REMOTE_ADDR from X-Forwarded-For's next-to-last entry, which on
    a regional API is the caller's own text: the entry point keeps only sourceIp."""
    from wildrydes.aws_lambda import keep_only_api_gateways_source_ip

    rest = {
        "httpMethod": "POST",
        "headers": {"X-Forwarded-For": "10.9.9.9, 203.0.113.9"},
        "multiValueHeaders": {"x-forwarded-for": ["10.9.9.9, 203.0.113.9"]},
        "requestContext": {"identity": {"sourceIp": "203.0.113.9"}},
    }
    keep_only_api_gateways_source_ip(rest)
    assert rest["headers"] == {"X-Forwarded-For": "203.0.113.9"}
    assert rest["multiValueHeaders"] == {"X-Forwarded-For": ["203.0.113.9"]}
    http_api = {
        "version": "2.0",
        "headers": {"x-forwarded-for": "10.9.9.9, 198.51.100.2"},
        "requestContext": {"http": {"sourceIp": "198.51.100.2"}},
    }
    keep_only_api_gateways_source_ip(http_api)
    assert http_api["headers"] == {"x-forwarded-for": "198.51.100.2"}


@pytest.mark.django_db(transaction=True)
def test_concurrent_promo_draws_cannot_push_past_the_limit(limits):
    """The draw limit per service key, now counted like the others (DRF's read-then-write
    cache history lets concurrent draws past it when processes share a database cache):
    10 threads at once with one key, limit 3, exactly 3 draws."""
    from accounts.models import Scope
    from promos.apis import DiscountDrawThrottle

    limits(DiscountDrawThrottle, "3/minute")
    factories.CampaignFactory()
    key = factories.ServiceKeyFactory(scopes=[Scope.PROMOS_DRAW]).plain_key
    body = {"username": "rider@example.com", "latitude": 47.6062, "longitude": -122.3321}

    def draw():
        client = APIClient(HTTP_AUTHORIZATION=f"Api-Key {key}")
        return client.post("/api/promos/discounts/", body, format="json")

    responses = all_at_once(10, draw)
    codes = [response.status_code for response in responses]
    assert sorted(codes) == [201] * 3 + [429] * 7
