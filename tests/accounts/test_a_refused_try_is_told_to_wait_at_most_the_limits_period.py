"""A try refused by a per-minute limit is never told to wait more than a minute.

A counter reads the clock, then runs its one statement, which waits for the counter's row
while another transaction holds it. When that transaction began a new minute meanwhile
(later than the waiting try's clock), the try counts in that minute, and "the minute ends
in" was measured from its own earlier clock: more than 60 seconds. Seen in races of 30
tries at once (tests/accounts/test_limits_hold_under_concurrent_tries.py, about 1 run in
5 before the fix): "Try again in 61 seconds." with Retry-After: 61 for a 10-a-minute limit.

Here the wait is made certain: the counter's row is held in a transaction while one try
waits for it, and the same host's 10 tries of the new minute are made in that transaction.
"""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AttemptCounter
from accounts.throttles import AuthAttemptsPerAddress, AuthAttemptsPerEmailFromClient
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "/api/auth/token/"
HOST = "203.0.113.66"


def wrong_password(email: str):
    return APIClient(REMOTE_ADDR=HOST).post(TOKEN, {"email": email, "password": "wrong-pw"})


def test_a_try_that_waited_while_a_new_minute_began_is_told_to_wait_at_most_a_minute(
    monkeypatch,
):
    # Only the per-e-mail counters (not the per-address one): the waiting try's first
    # statement is the per-client counter's, on SQLite too (one write lock for all rows).
    monkeypatch.setattr(
        AuthAttemptsPerAddress, "THROTTLE_RATES", {"auth_address": None}, raising=False
    )
    rider = UserFactory(email="rider@example.com")
    for _ in range(10):
        assert wrong_password(rider.email).status_code == 400
    key = AuthAttemptsPerEmailFromClient().key((rider.email, HOST))
    a_minute_ago = timezone.now() - timedelta(seconds=61)
    AttemptCounter.objects.filter(key=key).update(window_start=a_minute_ago)  # spent, ended

    answers = []

    def try_once():
        try:
            answers.append(wrong_password(rider.email))
        finally:
            connection.close()

    waiting = threading.Thread(target=try_once)
    with transaction.atomic():  # SQLite: BEGIN IMMEDIATE, the write lock
        AttemptCounter.objects.select_for_update().get(key=key)  # PostgreSQL: the row
        waiting.start()
        time.sleep(0.5)  # it read the clock (the minute had ended) and waits for the row
        for _ in range(10):  # the new minute, begun after that clock: all 10 of it spent
            assert wrong_password(rider.email).status_code == 400
    waiting.join(timeout=30)

    (answer,) = answers
    assert answer.status_code == 429
    assert answer["Retry-After"] == "60"
    assert answer.json() == {"detail": "Too many tries in a short time. Try again in 60 seconds."}
