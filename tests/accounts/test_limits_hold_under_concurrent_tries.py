"""The request limits hold when the tries come all at once.

Each limit is a counter row incremented in one statement (accounts/attempts.py). These
tests send the tries from real threads released together (tests/concurrency.py), each
with its own database connection, through the API as a phone calls it, on whichever
database the pass runs (SQLite, or PostgreSQL through PgBouncer): exactly the limit's
number of tries get past it, the rest are answered 429 with a sentence, none 500. So
too when the tries race across the end of a minute, or with the operator's "clear
attempt limits".

Each test can fail: a read-then-write counter let all 30 (one host), all 60 (many hosts)
and all 30 ride requests through; a read-then-write start of a new minute let 12 through
at the minute's end (2 runs in 3).
"""

import threading
import time
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import AttemptCounter
from accounts.throttles import AuthAttemptsPerAddress, AuthAttemptsPerEmailFromClient
from tests.accounts.limits import assert_refused_with_a_sentence
from tests.concurrency import all_at_once
from tests.factories import PASSWORD, UnicornFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "/api/auth/token/"
RIDES = "/api/rides/"
ATTACKER = "203.0.113.66"
WRONG_PASSWORD = 400
SEATTLE = {"latitude": 47.6062, "longitude": -122.3321}


def limit(scope: str) -> int:
    return int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope].split("/")[0])


def wrong_password(email: str, address: str = ATTACKER):
    body = {"email": email, "password": "not-the-password"}
    return APIClient(REMOTE_ADDR=address).post(TOKEN, body)


def let_through(responses) -> int:
    """How many wrong passwords reached the password check; every other try refused with
    the sentence, none answered otherwise (no 500)."""
    refused = [response for response in responses if response.status_code == 429]
    for response in refused:
        assert_refused_with_a_sentence(response)
    passed = [response for response in responses if response.status_code == WRONG_PASSWORD]
    assert len(passed) + len(refused) == len(responses), "a wrong password or 429, no other"
    return len(passed)


def test_thirty_guesses_at_once_from_one_host_get_ten_password_checks():
    rider = UserFactory(email="rider@example.com")
    per_client = limit("auth_email_client")  # 10 a minute
    assert per_client < 30 <= limit("auth_address")  # the address limit is not the one hit

    responses = all_at_once(30, lambda: wrong_password(rider.email))

    assert let_through(responses) == per_client
    # The rider, from their phone, is not kept out by the host's tries.
    assert APIClient().post(TOKEN, {"email": rider.email, "password": PASSWORD}).status_code == 200


def test_guesses_at_once_from_many_hosts_get_the_all_clients_limit_of_password_checks():
    """60 hosts, one guess each (within its own limit): 50 reach the password."""
    rider = UserFactory(email="rider@example.com")
    all_clients = limit("auth_email")  # 50 a minute
    hosts = [f"198.51.100.{n}" for n in range(all_clients + 10)]
    lock = threading.Lock()

    def guess_from_a_host_of_its_own():
        with lock:
            address = hosts.pop()
        return wrong_password(rider.email, address)

    responses = all_at_once(all_clients + 10, guess_from_a_host_of_its_own)

    assert let_through(responses) == all_clients


def test_ride_requests_at_once_from_one_rider_get_past_the_limit_only_its_number_of_times():
    """30 requests at once from one rider, each its own Idempotency-Key (30 taps, not one
    retried): the ride-request limit (20 a minute) lets 20 reach the booking."""
    rider = UserFactory()
    UnicornFactory(latitude=SEATTLE["latitude"], longitude=SEATTLE["longitude"])
    per_rider = limit("ride_requests")
    token, _ = Token.objects.get_or_create(user=rider)

    def request_a_ride():
        return APIClient().post(
            RIDES,
            {"pickup": SEATTLE},
            format="json",
            HTTP_AUTHORIZATION=f"Token {token.key}",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        )

    responses = all_at_once(per_rider + 10, request_a_ride)

    codes = Counter(response.status_code for response in responses)
    # One ride booked; the other requests the limit let through are refused for the ride
    # the rider already has (a 409 with its sentence), the last 10 by the limit.
    assert codes == {201: 1, 409: per_rider - 1, 429: 10}
    for response in responses:
        if response.status_code == 429:
            assert_refused_with_a_sentence(response)


def spend_the_hosts_budget(email: str) -> str:
    """The host's 10 wrong passwords this minute, and the 11th refused; its counter's key."""
    for _ in range(limit("auth_email_client")):
        assert wrong_password(email).status_code == WRONG_PASSWORD
    assert_refused_with_a_sentence(wrong_password(email))
    return AuthAttemptsPerEmailFromClient().key((email, ATTACKER))


@pytest.fixture
def no_per_address_limit(monkeypatch):
    """The host's per-address limit (30 a minute) lifted: these tests send more than 30
    tries from it, and are about the per-e-mail limits."""
    rates = {AuthAttemptsPerAddress.scope: "100000/minute"}
    monkeypatch.setattr(AuthAttemptsPerAddress, "THROTTLE_RATES", rates, raising=False)


def test_guesses_racing_across_the_end_of_a_spent_minute_get_only_the_new_minutes_budget(
    no_per_address_limit,
):
    """The host spent its 10 for this minute and keeps guessing from 10 threads, refused;
    then they all fire 4 more guesses each at the moment the minute ends. The first
    counted after the end starts a new minute, which lets 10 through: never the old
    minute's stragglers on top, nor a second new minute (two tries each starting one
    would give 20)."""
    rider = UserFactory(email="rider@example.com")
    key = spend_the_hosts_budget(rider.email)
    answered, moved = threading.Semaphore(0), threading.Event()
    ends = []
    parties = ["clock"] + [f"host thread {n}" for n in range(10)]
    lock = threading.Lock()

    def end_the_minute_while_guesses_are_refused():
        """The minute ends 0.3 s from now (as if it had begun 59.7 s ago): the real clock
        and the real statement; only its start is moved back, as a_minute_passes does in
        other tests."""
        try:
            for _ in range(10):  # the host's guesses are being refused: the race is on
                assert answered.acquire(timeout=30)
            started = timezone.now() - timedelta(seconds=60 - 0.3)
            ends.append(time.monotonic() + 0.3)
            AttemptCounter.objects.filter(key=key).update(window_start=started)
            return "clock", []
        finally:
            moved.set()

    def guess_then_fire_at_the_end(who):
        responses = []
        while not moved.is_set():
            responses.append(wrong_password(rider.email))
            answered.release()
        time.sleep(max(ends[0] - 0.02 - time.monotonic(), 0))
        responses.extend(wrong_password(rider.email) for _ in range(4))
        return who, responses

    def clock_or_host():
        with lock:
            who = parties.pop()
        if who == "clock":
            return end_the_minute_while_guesses_are_refused()
        return guess_then_fire_at_the_end(who)

    results = dict(all_at_once(len(parties), clock_or_host))

    responses = [response for each in results.values() for response in each]
    assert let_through(responses) == limit("auth_email_client")
    assert_refused_with_a_sentence(wrong_password(rider.email))  # the new minute is spent


def test_an_operator_clearing_the_limits_while_a_host_guesses_gives_it_one_fresh_budget(
    no_per_address_limit,
):
    """The host spent its 10 and keeps guessing from 4 threads; the operator clears the
    e-mail's limits (the admin's action) in the middle. The guesses counted after the
    clear spend one fresh budget of 10: what the race let through and what the host has
    left after it make 10. More would be guesses the clear lost; fewer, an old count the
    clear did not end (a rider locked out right after the operator said it was cleared)."""
    rider = UserFactory(email="rider@example.com")
    spend_the_hosts_budget(rider.email)
    operator = Client()
    operator.force_login(UserFactory(is_staff=True, is_superuser=True))
    answered, cleared = threading.Semaphore(0), threading.Event()
    parties = ["operator"] + [f"host thread {n}" for n in range(4)]
    lock = threading.Lock()

    def clear_when_guesses_are_refused():
        try:
            for _ in range(8):  # the host's guesses are being refused: the race is on
                assert answered.acquire(timeout=30)
            body = {"action": "clear_attempt_limits", "_selected_action": [rider.pk]}
            return "operator", operator.post("/admin/accounts/user/", body)
        finally:
            cleared.set()

    def guess_until_cleared(who):
        responses = []
        while not cleared.is_set() and len(responses) < 500:
            responses.append(wrong_password(rider.email))
            answered.release()
        return who, responses

    def operator_or_host():
        with lock:
            who = parties.pop()
        if who == "operator":
            return clear_when_guesses_are_refused()
        return guess_until_cleared(who)

    results = dict(all_at_once(len(parties), operator_or_host))

    assert results.pop("operator").status_code == 302  # "Attempt limits cleared: 1 account"
    guesses = [response for each in results.values() for response in each]
    during = let_through(guesses)
    after = [wrong_password(rider.email) for _ in range(limit("auth_email_client") + 1)]
    left = let_through(after)
    assert during + left == limit("auth_email_client")
    assert after[left].status_code == 429  # the fresh budget's tries came first, then none
