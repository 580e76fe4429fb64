"""Five wrong codes typed for an address lock its codes for a day, whoever typed them: anyone
who knew a rider's e-mail could keep the rider from resetting the password (or confirming
the address) for 24 hours, and asking for a new code sent nothing while locked.

The e-mail now also carries a one-click link with a 256-bit secret in its fragment
(`SITE_URL/reset-password/#email=...&token=...`): it works however many wrong codes were
typed, dies like the code (used, expired, replaced by a newer e-mail), and a wrong token is
counted like a wrong code and never gets in. The codes' limit is as strict as before.
"""

import logging
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.utils import timezone
from pythonjsonlogger.json import JsonFormatter
from rest_framework.test import APIClient

from accounts import services
from accounts.models import ConfirmationCode
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-secret-77"
RESET = "/api/auth/password/reset/"
RESET_CONFIRM = "/api/auth/password/reset/confirm/"
LOCKED = (
    "Too many wrong codes for this address. Use the link in the e-mail we sent (or ask for a "
    "new e-mail), or type a code again in 24 hours."
)
LINK_REFUSED = (
    "This link no longer works: it was already used, it has expired, or a newer e-mail "
    "replaced it. Ask for a new e-mail."
)
A_WRONG_TOKEN = "x" * 43  # the shape of a token (43 base64url characters), not one sent


@pytest.fixture(autouse=True)
def _site_and_rates(generous_sign_in_limits, settings):
    """The per-address and per-e-mail request rates are not what these tests are about."""
    settings.ACCOUNT_ANSWER_FLOOR_SECONDS = 0  # the floor's own tests are in test_self_service
    settings.SITE_URL = "https://rides.example.com"


def link_in(message) -> str:
    return re.search(r"https://rides\.example\.com/\S+", message.body).group(0)


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).fragment)["token"][0]


def code_in(message) -> str:
    return re.search(r"code is (\d{6})", message.body).group(1)


def lock_out(email: str, path: str = RESET_CONFIRM) -> None:
    """Someone who knows the address types 5 wrong codes for it."""
    attacker = APIClient(REMOTE_ADDR="203.0.113.66")
    for n in range(5):
        body = {"email": email, "code": f"{n:06d}", "new_password": NEW_PASSWORD}
        assert attacker.post(path, body).status_code == 400


def emailed_reset_link(email: str = "rider@example.com") -> str:
    """Ask for a reset e-mail for `email`; its link."""
    APIClient().post(RESET, {"email": email})
    return link_in(mail.outbox[-1])


def reset_with_link(link: str, password: str = NEW_PASSWORD):
    email = parse_qs(urlsplit(link).fragment)["email"][0]
    body = {"email": email, "token": token_of(link), "new_password": password}
    return APIClient().post(RESET_CONFIRM, body)


def signs_in(email: str, password: str) -> bool:
    body = {"email": email, "password": password}
    return APIClient().post("/api/auth/token/", body).status_code == 200


def test_a_rider_locked_out_by_five_wrong_guesses_resets_with_the_emailed_link():
    UserFactory(email="rider@example.com")
    lock_out("rider@example.com")

    assert APIClient().post(RESET, {"email": "rider@example.com"}).status_code == 202
    email = mail.outbox[-1]
    # The code is as locked as before: even the right one is refused, with the way out.
    typed = {"email": "rider@example.com", "code": code_in(email), "new_password": NEW_PASSWORD}
    refused = APIClient().post(RESET_CONFIRM, typed)
    assert refused.status_code == 400
    assert refused.json() == {"detail": LOCKED}

    response = reset_with_link(link_in(email))

    assert response.status_code == 200, response.json()
    assert response.json() == {"detail": "Your password is changed. Sign in with the new one."}
    assert signs_in("rider@example.com", NEW_PASSWORD)
    assert not signs_in("rider@example.com", PASSWORD)


def test_an_unconfirmed_rider_locked_out_by_wrong_guesses_confirms_with_the_emailed_link():
    rider = UserFactory(email="new@example.com", email_confirmed_at=None)
    lock_out("new@example.com", path="/api/auth/confirm/")

    APIClient().post("/api/auth/resend-code/", {"email": "new@example.com"})
    link = link_in(mail.outbox[-1])
    assert urlsplit(link).path == "/verify/"
    body = {"email": "new@example.com", "token": token_of(link)}
    response = APIClient().post("/api/auth/confirm/", body)

    assert response.status_code == 200, response.json()
    rider.refresh_from_db()
    assert rider.is_confirmed


def test_a_used_link_is_refused_and_changes_nothing():
    UserFactory(email="rider@example.com")
    link = emailed_reset_link()
    assert reset_with_link(link).status_code == 200

    again = reset_with_link(link, password="someone-elses-choice-99")

    assert again.status_code == 400
    assert again.json() == {"detail": LINK_REFUSED}
    assert signs_in("rider@example.com", NEW_PASSWORD)


def test_an_expired_link_is_refused_and_changes_nothing():
    UserFactory(email="rider@example.com")
    link = emailed_reset_link()
    assert "The link and the code work once, within 15 minutes." in mail.outbox[-1].body
    ConfirmationCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = reset_with_link(link)

    assert response.status_code == 400
    assert response.json() == {"detail": LINK_REFUSED}
    assert signs_in("rider@example.com", PASSWORD)


def test_a_link_replaced_by_a_newer_email_is_refused_and_the_newer_one_works():
    UserFactory(email="rider@example.com")
    older = emailed_reset_link()
    newer = emailed_reset_link()

    refused = reset_with_link(older, password="an-older-choice-of-mine-1")
    assert refused.status_code == 400
    assert refused.json() == {"detail": LINK_REFUSED}
    assert signs_in("rider@example.com", PASSWORD)
    assert reset_with_link(newer).status_code == 200
    assert signs_in("rider@example.com", NEW_PASSWORD)


def test_an_attackers_wrong_tokens_are_counted_and_never_succeed():
    UserFactory(email="rider@example.com")
    APIClient().post(RESET, {"email": "rider@example.com"})
    email = mail.outbox[-1]
    attacker = APIClient(REMOTE_ADDR="203.0.113.66")
    answers = []
    for guess in (A_WRONG_TOKEN, "A" * 43, "-" * 43, "_" * 43, "0" * 43, "z" * 43):
        body = {"email": "rider@example.com", "token": guess, "new_password": "attacker-pick-1"}
        response = attacker.post(RESET_CONFIRM, body)
        answers.append((response.status_code, response.json()))

    # One answer whatever the token, and an address with no account reads the same.
    ghost = {"email": "ghost@example.com", "token": A_WRONG_TOKEN, "new_password": NEW_PASSWORD}
    answers.append((APIClient().post(RESET_CONFIRM, ghost).status_code, {"detail": LINK_REFUSED}))
    assert answers == [(400, {"detail": LINK_REFUSED})] * 7
    assert signs_in("rider@example.com", PASSWORD)
    # Counted like wrong codes: the address's 5 tries are spent, the right code is refused...
    typed = {"email": "rider@example.com", "code": code_in(email), "new_password": NEW_PASSWORD}
    assert APIClient().post(RESET_CONFIRM, typed).json() == {"detail": LOCKED}
    # ...and the rider's own link still works.
    assert reset_with_link(link_in(email)).status_code == 200


def test_a_link_and_a_code_together_or_a_cut_link_are_refused_with_a_sentence():
    UserFactory(email="rider@example.com")
    APIClient().post(RESET, {"email": "rider@example.com"})
    email = mail.outbox[-1]
    token = token_of(link_in(email))
    both = {"email": "rider@example.com", "code": code_in(email), "token": token}
    cut = {"email": "rider@example.com", "token": token[:30]}
    neither = {"email": "rider@example.com"}

    answers = [
        APIClient().post(RESET_CONFIRM, {**body, "new_password": NEW_PASSWORD})
        for body in (both, cut, neither)
    ]

    assert [a.status_code for a in answers] == [400, 400, 400]
    assert answers[0].json() == {"token": ["Send the code or the link's token, not both."]}
    assert answers[1].json() == {
        "token": [
            "This link is not complete. Open it from the e-mail again, or type the code instead."
        ]
    }
    assert answers[2].json() == {"code": ["This field is required."]}  # the contract's code
    assert signs_in("rider@example.com", PASSWORD)


def test_the_token_travels_only_in_the_links_fragment_and_is_stored_as_a_hash():
    UserFactory(email="rider+wild@example.com")
    APIClient().post(RESET, {"email": "rider+wild@example.com"})
    email = mail.outbox[-1]
    link = link_in(email)
    token = token_of(link)

    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path, parts.query) == (
        "https",
        "rides.example.com",
        "/reset-password/",
        "",
    )
    assert parse_qs(parts.fragment) == {"email": ["rider+wild@example.com"], "token": [token]}
    assert len(token) == 43  # 32 random bytes
    stored = ConfirmationCode.objects.get()
    assert token not in (stored.code_hash, stored.link_hash)
    assert len(stored.link_hash) == 64


def test_the_token_never_appears_in_the_logs(caplog):
    """Every record of the flow, as the project's formatters write it (plain and JSON, with
    the extra fields), holds neither the used token nor a wrong one."""
    UserFactory(email="rider@example.com")
    caplog.set_level(logging.DEBUG)
    APIClient().post(RESET, {"email": "rider@example.com"})
    token = token_of(link_in(mail.outbox[-1]))
    wrong = {"email": "rider@example.com", "token": A_WRONG_TOKEN, "new_password": NEW_PASSWORD}
    assert APIClient().post(RESET_CONFIRM, wrong).status_code == 400
    assert reset_with_link(link_in(mail.outbox[-1])).status_code == 200
    assert reset_with_link(link_in(mail.outbox[-1])).status_code == 400

    formats = django_settings.LOGGING["formatters"]
    plain = logging.Formatter(formats["plain"]["format"])
    json = JsonFormatter(formats["json"]["format"], rename_fields=formats["json"]["rename_fields"])
    written = []
    for record in caplog.records:
        record.request_id = getattr(record, "request_id", "-")
        written += [plain.format(record), json.format(record)]
    assert any("Bad Request: /api/auth/password/reset/confirm/" in line for line in written)
    assert not [line for line in written if token in line or A_WRONG_TOKEN in line]


def test_the_email_is_plain_text_and_the_address_cannot_rewrite_its_link():
    hostile = '"<b>&token=' + "e" * 43 + '#x</b>"@example.com'
    UserFactory(email=hostile)
    services.request_password_reset(email=hostile)
    email = mail.outbox[-1]

    assert not getattr(email, "alternatives", None)  # no HTML part a mail client renders
    assert f"Wild Rydes account, {hostile}.\n" in email.body
    link = link_in(email)
    fragment = parse_qs(urlsplit(link).fragment)
    assert fragment["email"] == [hostile]
    assert fragment["token"] != ["e" * 43] and len(fragment["token"]) == 1
    assert reset_with_link(link).status_code == 200
