"""An e-mailed link (or code) works once, even when two requests bring it at the same moment.

The row of the code was read, compared, and deleted only later, in its own transaction: two
requests with the same right token both passed the check and both answered 200. Measured
against runserver on SQLite, two threads released together with the reset link's token and
two different new passwords: both "Your password is changed" in 2 of 4 rounds, and only one
of the two passwords worked afterwards (whoever was told it was set may be locked out, or a
second holder of the link set theirs over the rider's). The same for the typed code.

Now the row is taken (deleted, as it was when its hashes were compared) inside the
transaction that sets the password or confirms the address: the second request is refused
with the link's (or code's) sentence and changes nothing. The window between the check and
the transaction is widened here so the race happens every time, on SQLite and PostgreSQL.
"""

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from rest_framework.test import APIClient

from accounts import services
from accounts.models import ConfirmationCode, User
from tests.concurrency import all_at_once
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

LINK_REFUSED = (
    "This link no longer works: it was already used, it has expired, or a newer e-mail replaced it."
)


@pytest.fixture(autouse=True)
def _setup(generous_sign_in_limits, monkeypatch, settings):
    settings.ACCOUNT_ANSWER_FLOOR_SECONDS = 0
    settings.SITE_URL = "https://rides.example.com"
    # Both requests pass the check before either goes on: the race, every time.
    checked = services._check_code_or_link

    def slow_check(**kwargs):
        pending = checked(**kwargs)
        time.sleep(0.4)
        return pending

    monkeypatch.setattr(services, "_check_code_or_link", slow_check)


def token_in_last_mail() -> str:
    link = re.search(r"https://rides\.example\.com/\S+", mail.outbox[-1].body).group(0)
    return parse_qs(urlsplit(link).fragment)["token"][0]


def code_in_last_mail() -> str:
    return re.search(r"code is (\d{6})", mail.outbox[-1].body).group(1)


def two_resets_at_once(email: str, secret: dict) -> list:
    passwords = iter(["first-new-secret-71", "second-new-secret-72"])

    def send():
        password = next(passwords)
        body = {"email": email, "new_password": password, **secret}
        return password, APIClient().post("/api/auth/password/reset/confirm/", body)

    return all_at_once(2, send)


def assert_one_password_set(email: str, answers: list) -> None:
    statuses = sorted(response.status_code for _, response in answers)
    assert statuses == [200, 400], [(r.status_code, r.json()) for _, r in answers]
    (told_set,) = [password for password, r in answers if r.status_code == 200]
    (refused,) = [r for _, r in answers if r.status_code == 400]
    assert "no longer works" in refused.json()["detail"], refused.json()
    user = User.objects.get(email=email)
    assert user.check_password(told_set), "the password the rider was told is set works"
    assert not ConfirmationCode.objects.filter(user=user).exists()


def test_a_reset_link_opened_twice_at_once_sets_one_password():
    UserFactory(email="twice@example.com")
    APIClient().post("/api/auth/password/reset/", {"email": "twice@example.com"})
    answers = two_resets_at_once("twice@example.com", {"token": token_in_last_mail()})
    assert_one_password_set("twice@example.com", answers)
    refused = next(r for _, r in answers if r.status_code == 400)
    assert refused.json()["detail"].startswith(LINK_REFUSED)


def test_a_reset_code_sent_twice_at_once_sets_one_password():
    UserFactory(email="twice-code@example.com")
    APIClient().post("/api/auth/password/reset/", {"email": "twice-code@example.com"})
    answers = two_resets_at_once("twice-code@example.com", {"code": code_in_last_mail()})
    assert_one_password_set("twice-code@example.com", answers)


def test_a_confirmation_link_opened_twice_at_once_confirms_once():
    APIClient().post(
        "/api/auth/register/", {"email": "new@example.com", "password": "galloping-rainbow-42"}
    )
    token = token_in_last_mail()
    answers = all_at_once(
        2,
        lambda: APIClient().post(
            "/api/auth/confirm/", {"email": "new@example.com", "token": token}
        ),
    )
    assert sorted(r.status_code for r in answers) == [200, 400], [r.json() for r in answers]
    refused = next(r for r in answers if r.status_code == 400)
    assert refused.json()["detail"].startswith(LINK_REFUSED)
    assert User.objects.get(email="new@example.com").is_confirmed


def test_a_link_whose_account_closed_during_the_check_sets_nothing():
    """The account closed (its codes deleted) between the check and the password's change:
    refused, and the closed account keeps its unusable password."""
    rider = UserFactory(email="closing@example.com")
    APIClient().post("/api/auth/password/reset/", {"email": "closing@example.com"})
    token = token_in_last_mail()
    checked = services._check_code_or_link

    def check_then_close(**kwargs):
        pending = checked(**kwargs)
        ConfirmationCode.objects.filter(user=rider).delete()  # as delete_account does
        User.objects.filter(pk=rider.pk).update(is_active=False, password="!")
        return pending

    services._check_code_or_link = check_then_close
    try:
        body = {"email": "closing@example.com", "token": token, "new_password": "a-new-one-73"}
        response = APIClient().post("/api/auth/password/reset/confirm/", body)
    finally:
        services._check_code_or_link = checked
    assert response.status_code == 400, response.json()
    assert response.json()["detail"].startswith(LINK_REFUSED)
    assert User.objects.get(pk=rider.pk).password == "!"
