"""A confirmation or reset code allows at most 5 wrong guesses however often it is resent,
and concurrent guesses can't get more through (issue 16, item 3)."""

import re

import pytest
from django.core import mail
from rest_framework.test import APIClient

from accounts import services
from accounts.attempts import attempt_key, count_attempt
from accounts.models import AttemptCounter, User
from accounts.throttles import AuthAttemptsPerEmail
from tests.concurrency import all_at_once
from tests.factories import UserFactory

GOOD_PASSWORD = "galloping-rainbow-42"
LOCKED = "Too many wrong codes for this address. Use the link in the e-mail we sent"


@pytest.fixture(autouse=True)
def _generous_rates(generous_sign_in_limits):
    """The per-address and per-e-mail rates are not what these tests are about."""


def last_code() -> str:
    return re.search(r"code is (\d{6})", mail.outbox[-1].body).group(1)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


@pytest.mark.django_db
def test_resending_the_code_brings_no_new_tries(api):
    api.post("/api/auth/register/", {"email": "new@example.com", "password": GOOD_PASSWORD})
    answers = []
    for _ in range(5):
        api.post("/api/auth/resend-code/", {"email": "new@example.com"})
        body = {"email": "new@example.com", "code": wrong(last_code())}
        answers.append(api.post("/api/auth/confirm/", body).json()["detail"])
    assert answers[0] == "That code is not right. 4 tries left."
    assert answers[-1] == (
        "That code is not right, and that was the last try for this address. Use the link "
        "in the e-mail we sent (or ask for a new e-mail), or type a code again in 24 hours."
    )

    api.post("/api/auth/resend-code/", {"email": "new@example.com"})
    right = {"email": "new@example.com", "code": last_code()}
    response = api.post("/api/auth/confirm/", right)

    assert response.status_code == 400
    assert response.json()["detail"].startswith(LOCKED)
    assert not User.objects.get().is_confirmed


@pytest.mark.django_db
def test_a_right_code_clears_the_count(api):
    api.post("/api/auth/register/", {"email": "new@example.com", "password": GOOD_PASSWORD})
    code = last_code()
    for _ in range(4):
        api.post("/api/auth/confirm/", {"email": "new@example.com", "code": wrong(code)})
    response = api.post("/api/auth/confirm/", {"email": "new@example.com", "code": code})
    assert response.status_code == 200
    assert not AttemptCounter.objects.filter(key__startswith="code_confirm:").exists()


@pytest.mark.django_db
def test_reset_codes_allow_five_wrong_guesses_across_resends(api):
    UserFactory(email="rider@example.com")
    details = []
    for _ in range(6):
        api.post("/api/auth/password/reset/", {"email": "rider@example.com"})
        body = {
            "email": "rider@example.com",
            "code": wrong(last_code()),
            "new_password": GOOD_PASSWORD,
        }
        details.append(api.post("/api/auth/password/reset/confirm/", body).json()["detail"])
    assert details[0] == "That code is not right or has expired. 4 tries left."
    assert details[4].startswith("That code is not right, and that was the last try")
    assert details[5].startswith(LOCKED)


def _count_concurrently(key: str, threads: int, limit: int) -> list[int]:
    return all_at_once(threads, lambda: count_attempt(key, limit=limit, period=60).count)


@pytest.mark.django_db(transaction=True)
def test_concurrent_attempts_each_get_their_own_count():
    counts = _count_concurrently(attempt_key("test", "race@example.com"), threads=8, limit=5)
    # Every attempt counted once: no two saw the same count, so exactly `limit` are allowed.
    assert sorted(counts) == list(range(1, 9))


@pytest.mark.django_db(transaction=True)
def test_concurrent_code_guesses_get_no_more_than_five_tries():
    user = UserFactory(email="racer@example.com", email_confirmed_at=None)
    services.send_confirmation_code(user)
    right = int(last_code())
    numbers = iter(range(10))  # one caller each, every guess wrong

    def guess():
        n = next(numbers)
        body = {"email": "racer@example.com", "code": f"{(right + n + 1) % 10**6:06d}"}
        client = APIClient(REMOTE_ADDR=f"10.9.0.{n}")
        return client.post("/api/auth/confirm/", body).json()["detail"]

    answers = all_at_once(10, guess)

    compared = [a for a in answers if a.startswith("That code is not right")]
    refused = [a for a in answers if a.startswith(LOCKED)]
    assert len(compared) == 5
    assert len(refused) == 5


@pytest.mark.django_db(transaction=True)
def test_concurrent_sign_ins_get_no_more_than_the_limit_through(monkeypatch):
    monkeypatch.setattr(
        AuthAttemptsPerEmail, "THROTTLE_RATES", {"auth_email": "5/minute"}, raising=False
    )
    UserFactory(email="target@example.com")
    numbers = iter(range(12))

    def guess():
        n = next(numbers)
        body = {"email": "TARGET@example.com", "password": f"guess-{n}-xxxxxxxx"}
        return APIClient(REMOTE_ADDR=f"10.8.0.{n}").post("/api/auth/token/", body).status_code

    statuses = all_at_once(12, guess)

    assert sorted(statuses) == [400] * 5 + [429] * 7


@pytest.mark.django_db
def test_an_operator_clears_a_locked_out_persons_limits(client, monkeypatch):
    monkeypatch.setattr(
        AuthAttemptsPerEmail, "THROTTLE_RATES", {"auth_email": "2/minute"}, raising=False
    )
    from tests.factories import PASSWORD

    rider = UserFactory(email="locked@example.com")
    guesser = APIClient()
    for _ in range(3):
        guesser.post("/api/auth/token/", {"email": rider.email, "password": "x" * 12})
    body = {"email": rider.email, "password": PASSWORD}
    assert APIClient().post("/api/auth/token/", body).status_code == 429

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    client.post(
        "/admin/accounts/user/",
        {"action": "clear_attempt_limits", "_selected_action": [rider.pk]},
    )

    assert APIClient().post("/api/auth/token/", body).status_code == 200
