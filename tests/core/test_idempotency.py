"""`Idempotency-Key` under real concurrency, on whichever database the pass runs (SQLite,
then PostgreSQL through PgBouncer in `make test`): real threads, each with its own
database connection.

The key is claimed in its own short transaction and the ride is booked in its own: a
duplicate that arrives while the first is still working gets the first answer (or, after
a short wait, 409 with Retry-After), and nothing the first does while it works (the
discount draw) holds the database for anyone else.
"""

import threading
import time

import pytest
from django.db import connection

from core.models import IdempotencyRecord
from promos import client as promo_client
from promos.models import DiscountAward
from rides.models import Ride, Unicorn
from tests.concurrency import all_at_once
from tests.conftest import client_for
from tests.factories import CampaignFactory, UnicornFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PICKUP = {"pickup": {"latitude": 47.6062, "longitude": -122.3321}}


@pytest.fixture
def fleet():
    CampaignFactory()
    return UnicornFactory.create_batch(3, latitude=47.6062, longitude=-122.3321)


def test_the_same_ride_request_sent_eight_times_at_once_books_one_ride(settings, fleet):
    settings.IDEMPOTENCY_WAIT_SECONDS = 20  # every duplicate waits for the first answer
    rider = UserFactory()

    def send():
        api = client_for(rider)
        return api.post("/api/rides/", PICKUP, format="json", HTTP_IDEMPOTENCY_KEY="ride-1")

    responses = all_at_once(8, send)

    assert [r.status_code for r in responses] == [201] * 8, [r.content for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.get("Idempotent-Replayed") == "true" for r in responses) == 7
    assert Ride.objects.count() == 1
    assert Unicorn.objects.filter(is_available=False).count() == 1
    assert DiscountAward.objects.count() == 1
    assert IdempotencyRecord.objects.get().status_code == 201


class HeldDraw:
    """The discount draw of the next ride request, held until `release()`."""

    def __init__(self, monkeypatch):
        self.drawing, self._go = threading.Event(), threading.Event()
        real = promo_client.offer_discount_for_ride

        def held(**request):
            self.drawing.set()
            assert self._go.wait(30), "never released"
            return real(**request)

        monkeypatch.setattr(promo_client, "offer_discount_for_ride", held)

    def release(self):
        self._go.set()


def test_a_duplicate_during_the_discount_draw_is_told_to_retry_and_nobody_waits_on_it(
    settings, monkeypatch, fleet
):
    settings.IDEMPOTENCY_WAIT_SECONDS = 0.2
    rider = UserFactory()
    draw = HeldDraw(monkeypatch)
    first = {}

    def request_first():
        try:
            api = client_for(rider)
            first["response"] = api.post(
                "/api/rides/", PICKUP, format="json", HTTP_IDEMPOTENCY_KEY="slow"
            )
        finally:
            connection.close()

    thread = threading.Thread(target=request_first)
    thread.start()
    try:
        assert draw.drawing.wait(30), "the first request never got to its discount draw"
        api = client_for(rider)
        started = time.monotonic()

        duplicate = api.post("/api/rides/", PICKUP, format="json", HTTP_IDEMPOTENCY_KEY="slow")
        other_body = api.post(
            "/api/rides/",
            {"pickup": {"latitude": 47.61, "longitude": -122.33}},
            format="json",
            HTTP_IDEMPOTENCY_KEY="slow",
        )
        # Someone else writes meanwhile: the draw holds neither SQLite's write lock nor
        # the key's row on PostgreSQL.
        UserFactory()
        elapsed = time.monotonic() - started
    finally:
        draw.release()
        thread.join(timeout=60)

    assert duplicate.status_code == 409
    assert "still being processed" in duplicate.json()["detail"]
    assert int(duplicate["Retry-After"]) >= 1
    assert other_body.status_code == 422
    assert "different request" in other_body.json()["detail"]
    assert elapsed < 5, f"the others waited {elapsed:.1f} s on the first request"
    assert first["response"].status_code == 201
    replay = client_for(rider).post(
        "/api/rides/", PICKUP, format="json", HTTP_IDEMPOTENCY_KEY="slow"
    )
    assert replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first["response"].json()
    assert Ride.objects.count() == 1
