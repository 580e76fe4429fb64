"""A ride request killed between claiming its Idempotency-Key and storing its answer: a
real process (tests/core/held_ride_request.py), SIGKILLed, on a file-backed database (the
SQLite file of the SQLite pass, the PostgreSQL server of the other).

Its retry with the same key is asked to come back while the dead claim's lease runs; after
that it takes the claim over and finishes: the ride the dead process booked is answered,
or, if it had booked none, one ride is booked. Never two.

The lease's end is not waited out (2 s a test): the dead claim is dated back by the lease,
as if it had run out (`lease_ran_out`), which is what the retry reads.
"""

from datetime import timedelta

import pytest

from core.models import IdempotencyRecord
from payments.models import Payment
from rides.models import Ride, Unicorn
from tests.conftest import client_for
from tests.factories import FinanceFactory, UnicornFactory, UserFactory
from tests.reliability.support import kill_once_held

pytestmark = pytest.mark.django_db(transaction=True)

PICKUP = {"pickup": {"latitude": 47.6062, "longitude": -122.3321}}
LEASE_S = 2
KEY = "killed-1"


def kill_held_request(user, hold_at: str, tmp_path, *kind):
    script = "tests/core/held_ride_request.py"
    kill_once_held(script, [str(user.pk), KEY, *kind], tmp_path, HOLD_AT=hold_at)


def lease_ran_out(claim: IdempotencyRecord) -> None:
    """The dead process's claim as it is LEASE_S later: its claimed_at that far back."""
    claimed_at = claim.claimed_at - timedelta(seconds=LEASE_S)
    assert IdempotencyRecord.objects.filter(pk=claim.pk, status_code=None).update(
        claimed_at=claimed_at
    )


@pytest.mark.parametrize(
    "hold_at, booked_before_the_kill", [("draw", 0), ("answer", 1)], ids=["before", "after"]
)
def test_a_ride_request_killed_before_its_answer_is_finished_by_its_retry_once(
    settings, tmp_path, hold_at, booked_before_the_kill
):
    settings.IDEMPOTENCY_LEASE_SECONDS = LEASE_S
    settings.IDEMPOTENCY_WAIT_SECONDS = 0
    UnicornFactory.create_batch(2, latitude=47.6062, longitude=-122.3321)
    rider = UserFactory()
    api = client_for(rider)

    kill_held_request(rider, hold_at, tmp_path)

    assert Ride.objects.count() == booked_before_the_kill
    claim = IdempotencyRecord.objects.get()
    assert claim.status_code is None  # claimed, never answered
    early = api.post("/api/rides/", PICKUP, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    assert early.status_code == 409
    assert "still being processed" in early.json()["detail"]
    assert 1 <= int(early["Retry-After"]) <= LEASE_S

    lease_ran_out(claim)
    retried = api.post("/api/rides/", PICKUP, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    again = api.post("/api/rides/", PICKUP, format="json", HTTP_IDEMPOTENCY_KEY=KEY)

    assert retried.status_code == 201, retried.content
    ride = Ride.objects.get()
    assert retried.json()["id"] == str(ride.id)
    assert Unicorn.objects.filter(is_available=False).count() == 1
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == retried.json()


def test_a_payment_registration_killed_before_its_answer_is_answered_by_its_retry(
    settings, tmp_path
):
    settings.IDEMPOTENCY_LEASE_SECONDS = LEASE_S
    finance = FinanceFactory()
    body = {"amount": "12.50", "currency": "USD", "reference": "INV-KILLED"}

    kill_held_request(finance, "answer", tmp_path, "payment")

    registered = Payment.objects.get()
    claim = IdempotencyRecord.objects.get()
    assert claim.status_code is None  # claimed, never answered
    lease_ran_out(claim)
    api = client_for(finance)
    retried = api.post("/api/payments/", body, format="json", HTTP_IDEMPOTENCY_KEY=KEY)

    # Its own payment, not "reference INV-KILLED already exists".
    assert retried.status_code == 201, retried.content
    assert retried.json()["id"] == str(registered.id)
    assert Payment.objects.count() == 1
