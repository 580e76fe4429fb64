"""Asking for a new code (resend, password reset) e-mails a person: anyone who knows a
rider's address could make Wild Rydes mail it 10 codes a minute, the sign-in limit per
e-mail, all day (live: 10 reset e-mails to rider@example.com in 5 s, 14,400 a day) — a mail
bomb for the rider, and bounces and complaints that SES counts against the sender.

Now at most CONFIRMATION_CODE_MAILS_PER_HOUR (5) new codes an hour per address: beyond,
429 with a sentence and Retry-After, no e-mail, and the newest code still works. The count
is kept for every address, with an account or not, so the answer tells nothing about it.
"""

import re

import pytest
from django.core import mail
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-secret-77"


@pytest.fixture(autouse=True)
def _generous_sign_in_rates(generous_sign_in_limits, settings):
    """The per-address and per-e-mail request rates are not what these tests are about."""
    settings.ACCOUNT_ANSWER_FLOOR_SECONDS = 0  # the floor's own tests are in test_self_service
    settings.CONFIRMATION_CODE_MAILS_PER_HOUR = 5  # the default


def ask(path: str, email: str, n: int = 0):
    return APIClient(REMOTE_ADDR=f"198.51.100.{n}").post(path, {"email": email})


def test_password_reset_mails_to_one_address_stop_at_five_an_hour():
    UserFactory(email="rider@example.com")
    statuses = [
        ask("/api/auth/password/reset/", "rider@example.com", n).status_code for n in range(5)
    ]
    assert statuses == [202] * 5
    newest = re.search(r"reset code is (\d{6})", mail.outbox[-1].body).group(1)

    refused = ask("/api/auth/password/reset/", "RIDER@example.com", 9)

    assert refused.status_code == 429
    wait = int(refused["Retry-After"])
    assert 3000 < wait <= 3600
    assert refused.json()["detail"] == (
        "A new code for this address was asked for 5 times in the last hour. Use the link "
        "or the code in the newest e-mail, or try again in 60 minutes."
    )
    assert len(mail.outbox) == 5
    # The newest code e-mailed still resets the password.
    body = {"email": "rider@example.com", "code": newest, "new_password": NEW_PASSWORD}
    assert APIClient().post("/api/auth/password/reset/confirm/", body).status_code == 200


def test_resending_the_sign_up_code_stops_at_five_an_hour():
    UserFactory(email="new@example.com", email_confirmed_at=None)
    statuses = [ask("/api/auth/resend-code/", "new@example.com", n).status_code for n in range(6)]
    assert statuses == [202] * 5 + [429]
    assert len(mail.outbox) == 5


def test_resets_and_resends_share_the_addresss_budget():
    UserFactory(email="late@example.com", email_confirmed_at=None)
    for n in range(3):
        ask("/api/auth/resend-code/", "late@example.com", n)
    for n in range(2):
        ask("/api/auth/password/reset/", "late@example.com", n)
    assert ask("/api/auth/resend-code/", "late@example.com").status_code == 429
    assert ask("/api/auth/password/reset/", "late@example.com").status_code == 429
    assert len(mail.outbox) == 5


def test_the_limit_reads_the_same_for_an_address_with_no_account():
    UserFactory(email="rider@example.com")
    answers = {}
    for email in ("rider@example.com", "ghost@example.com"):
        statuses = [ask("/api/auth/password/reset/", email, n).status_code for n in range(6)]
        last = ask("/api/auth/password/reset/", email)
        answers[email] = (statuses, last.status_code, last.json())
    assert answers["rider@example.com"] == answers["ghost@example.com"]
    assert answers["ghost@example.com"][0] == [202] * 5 + [429]


def test_another_address_is_not_held_back():
    UserFactory(email="rider@example.com")
    UserFactory(email="other@example.com")
    for n in range(6):
        ask("/api/auth/password/reset/", "rider@example.com", n)
    assert ask("/api/auth/password/reset/", "other@example.com").status_code == 202
    assert mail.outbox[-1].to == ["other@example.com"]
