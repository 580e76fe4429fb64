"""The database failing under the API, in-process, on whichever database the pass runs.

A connection wrapper makes queries raise OperationalError, as they do when the server is
down, restarting or out of connections. The API must answer 503 with a sentence (never a
500), leave no partial rows, and work again as soon as the queries do.
"""

import pytest
from django.db import OperationalError, connection

from core.models import IdempotencyRecord
from events.models import OutboxEvent
from payments.models import Payment
from promos.models import DiscountAward
from rides.models import Ride, Unicorn
from tests.factories import UnicornFactory, arrive_now

pytestmark = pytest.mark.django_db

PICKUP = {"pickup": {"latitude": 47.6062, "longitude": -122.3321}}
# Transaction control must still work, or the test's own transaction breaks too.
_CONTROL = ("SAVEPOINT", "RELEASE", "ROLLBACK")


class FailingQueries:
    """Make every query (or those containing `only`) fail as a lost connection does."""

    def __init__(self, only: str | None = None):
        self.only = only
        self.failed = 0

    def __call__(self, execute, sql, params, many, context):
        if not sql.lstrip().upper().startswith(_CONTROL) and (
            self.only is None or self.only in sql
        ):
            self.failed += 1
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)


def assert_unavailable(response):
    assert response.status_code == 503, response.content
    body = response.json()
    assert set(body) == {"detail"}
    assert "database" in body["detail"]
    assert body["detail"].endswith(".")
    assert int(response["Retry-After"]) > 0


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("post", "/api/rides/", PICKUP),
        ("get", "/api/rides/", None),
        ("get", "/api/payments/", None),
        ("get", "/api/notifications/", None),
        ("post", "/api/auth/token/", {"email": "a@example.com", "password": "x" * 12}),
    ],
)
def test_api_answers_503_with_a_sentence_while_the_database_is_down(
    rider_api, method, path, body, caplog
):
    UnicornFactory()
    with connection.execute_wrapper(FailingQueries()):
        response = getattr(rider_api, method)(path, body)
    assert_unavailable(response)
    assert "Database unavailable" in caplog.text  # logged for the alarm, with the cause


def test_health_says_the_database_is_unavailable(api):
    with connection.execute_wrapper(FailingQueries()):
        response = api.get("/api/health/")
    assert response.status_code == 503
    assert response.json() == {"status": "degraded", "database": "unavailable"}


def test_a_ride_request_cut_off_before_its_ride_is_written_leaves_nothing(rider_api):
    unicorn = UnicornFactory()
    headers = {"HTTP_IDEMPOTENCY_KEY": "outage-1"}
    failing = FailingQueries(only='INSERT INTO "rides_ride"')
    with connection.execute_wrapper(failing):
        response = rider_api.post("/api/rides/", PICKUP, **headers)
    assert_unavailable(response)
    assert failing.failed == 1
    # The unicorn claim, the discount draw and the idempotency key all rolled back.
    unicorn.refresh_from_db()
    assert unicorn.is_available
    assert not Ride.objects.exists()
    assert not DiscountAward.objects.exists()
    assert not IdempotencyRecord.objects.exists()

    # The database is back: the same retry books exactly one ride.
    retried = rider_api.post("/api/rides/", PICKUP, **headers)
    assert retried.status_code == 201
    assert Ride.objects.count() == 1
    assert DiscountAward.objects.count() == 1
    assert not Unicorn.objects.get(pk=unicorn.pk).is_available


def test_a_completion_cut_off_before_its_payment_is_written_leaves_the_ride_in_progress(
    rider_api,
):
    UnicornFactory()
    ride_id = rider_api.post("/api/rides/", PICKUP).json()["id"]
    arrive_now(Ride.objects.get(pk=ride_id))
    assert rider_api.post(f"/api/rides/{ride_id}/board/").status_code == 200
    url = f"/api/rides/{ride_id}/complete/"
    with connection.execute_wrapper(FailingQueries(only='INSERT INTO "payments_payment"')):
        response = rider_api.post(url)
    assert_unavailable(response)
    ride = Ride.objects.select_related("unicorn").get(pk=ride_id)
    assert ride.status == Ride.Status.IN_PROGRESS
    assert not ride.unicorn.is_available
    assert not Payment.objects.exists()
    assert not OutboxEvent.objects.filter(type="rides.RideCompleted").exists()

    completed = rider_api.post(url)
    assert completed.status_code == 200
    assert completed.json()["payment"]
    assert Payment.objects.filter(ride_id=ride_id).count() == 1
    assert Unicorn.objects.get(pk=ride.unicorn_id).is_available


def test_locked_sqlite_or_lost_connection_on_write_is_503_not_500(rider_api):
    """'database is locked' (SQLite, busy past its timeout) is an OperationalError too."""
    UnicornFactory()

    def locked(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("UPDATE"):
            raise OperationalError("database is locked")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(locked):
        response = rider_api.post("/api/rides/", PICKUP)
    assert_unavailable(response)
    assert not Ride.objects.exists()
