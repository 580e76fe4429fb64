"""A caller who reached a write limit is let in again when the window ends (Retry-After
says when), and a new window lets exactly the limit through again, on either database."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import throttles
from rides.models import UnicornApplication

APPLICATION = {"name": "Glimmer", "color": "silver", "gender": "female", "email": "g@example.com"}
START = datetime(2026, 12, 6, 14, 30, 0, tzinfo=UTC)  # on the second: SQLite's text edge


@pytest.fixture
def clock(monkeypatch):
    now = [START]
    monkeypatch.setattr(timezone, "now", lambda: now[0])

    def move_to(seconds: float):
        now[0] = START + timedelta(seconds=seconds)

    return move_to


@pytest.fixture
def two_a_minute(monkeypatch):
    throttle = throttles.UnicornApplicationsPerAddress
    rates = {**throttle.THROTTLE_RATES, throttle.scope: "2/minute"}
    monkeypatch.setattr(throttle, "THROTTLE_RATES", rates)


def apply(client):
    return client.post("/api/unicorn-applications/", APPLICATION)


@pytest.mark.django_db
def test_a_limited_caller_is_let_in_again_when_the_window_ends(clock, two_a_minute):
    client = APIClient(REMOTE_ADDR="203.0.113.9")
    assert [apply(client).status_code for _ in range(2)] == [201, 201]
    refused = apply(client)
    assert refused.status_code == 429 and int(refused["Retry-After"]) == 60

    clock(45)
    refused = apply(client)
    assert refused.status_code == 429 and int(refused["Retry-After"]) == 15

    clock(59.5)
    assert apply(client).status_code == 429

    clock(60)  # the window has ended: a new one starts with this request
    assert [apply(client).status_code for _ in range(3)] == [201, 201, 429]
    assert UnicornApplication.objects.count() == 4

    clock(119.999)  # still the second window, which started at 60
    assert apply(client).status_code == 429
    clock(120)
    assert apply(client).status_code == 201


@pytest.mark.django_db
def test_a_window_starts_at_the_first_request_not_on_the_clock(clock, two_a_minute):
    client = APIClient(REMOTE_ADDR="203.0.113.10")
    clock(50)
    assert apply(client).status_code == 201
    clock(70)  # a minute on the clock has turned, the caller's window has not
    assert [apply(client).status_code for _ in range(2)] == [201, 429]
    clock(110)
    assert apply(client).status_code == 201
