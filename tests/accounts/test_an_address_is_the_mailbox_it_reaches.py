"""An e-mail address is the mailbox mail reaches.

Django's mail encodes a domain with IDNA before sending, which drops zero-width joiners and
soft hyphens and reads an ideographic full stop as a dot. So 'rider@exa<ZWJ>mple.com' was
an account apart from rider@example.com, with limits apart, while its codes went to
rider@example.com (seen live: 'To: a@example.com'); and 'b@xn--exmple-cua.com' was another
account than 'b@exämple.com', and '"rider"@example.com' than rider@example.com, the same
mailboxes. A domain with a line separator or a
direction override (U+202E, which makes the admin show the address backwards) passed the
e-mail pattern too: the account was made, and told "we could not send the e-mail ... ask
for a new code", which could never arrive.
"""

import pytest
from django.core import mail
from rest_framework.test import APIClient

from accounts.models import User
from accounts.throttles import AuthAttemptsPerAddress, AuthAttemptsPerEmail
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "galloping-rainbow-42"

SAME_MAILBOX = [
    ("rider@exa\u200dmple.com", "rider@example.com"),  # zero-width joiner
    ("rider@exa\u00admple.com", "rider@example.com"),  # soft hyphen
    ("rider@example\u3002com", "rider@example.com"),  # ideographic full stop
    ("rider@xn--exmple-cua.com", "rider@ex\u00e4mple.com"),  # punycode
    ('"rider"@example.com', "rider@example.com"),  # quoted, as the mail server reads it
]


@pytest.fixture(autouse=True)
def _generous_rates(monkeypatch):
    monkeypatch.setattr(
        AuthAttemptsPerAddress, "THROTTLE_RATES", {"auth_address": "1000/minute"}, raising=False
    )
    monkeypatch.setattr(
        AuthAttemptsPerEmail, "THROTTLE_RATES", {"auth_email": "3/minute"}, raising=False
    )


@pytest.mark.parametrize(("spelling", "mailbox"), SAME_MAILBOX)
def test_a_second_account_for_one_mailbox_is_refused(api, spelling, mailbox):
    UserFactory(email=mailbox)
    response = api.post("/api/auth/register/", {"email": spelling, "password": GOOD_PASSWORD})
    assert response.status_code == 400
    assert "already exists" in response.json()["email"][0]
    assert User.objects.count() == 1
    assert mail.outbox == []


@pytest.mark.parametrize(("spelling", "mailbox"), SAME_MAILBOX)
def test_any_spelling_of_the_mailbox_signs_in_and_spends_its_budget(spelling, mailbox):
    UserFactory(email=mailbox)
    for n in range(3):
        body = {"email": mailbox, "password": f"guess-{n}-xxxxxx"}
        APIClient(REMOTE_ADDR=f"10.7.0.{n}").post("/api/auth/token/", body)
    body = {"email": spelling, "password": PASSWORD}
    assert APIClient(REMOTE_ADDR="10.7.1.1").post("/api/auth/token/", body).status_code == 429


def test_the_spelling_with_a_joiner_signs_in_to_the_account():
    UserFactory(email="rider@example.com")
    body = {"email": "rider@exa\u200dmple.com", "password": PASSWORD}
    assert APIClient().post("/api/auth/token/", body).status_code == 200


@pytest.mark.parametrize(
    "email",
    [
        "rider@exa\u2028mple.com",  # line separator
        "rider@exa\u202emple.com",  # right-to-left override
        "rider@localhost",  # no domain of the internet: our mail service sends it nowhere
        "rider@wildrydes",
        "rider@[127.0.0.1]",
    ],
)
def test_an_address_no_mail_can_reach_is_refused_before_anything_is_made(api, email):
    response = api.post("/api/auth/register/", {"email": email, "password": GOOD_PASSWORD})
    assert response.status_code == 400
    assert response.json()["email"] == ["Enter a valid email address."]
    assert not User.objects.exists()
    assert mail.outbox == []


def test_the_admin_refuses_an_address_no_mail_can_reach():
    user = User(email="op@exa\u2028mple.com")
    with pytest.raises(Exception) as refused:
        user.full_clean(exclude=["password"])
    assert "No e-mail can be sent to this address." in str(refused.value)


def test_existing_addresses_take_the_delivered_form_in_the_migration():
    from tests.migrations import run_data_function

    punycode = UserFactory(email="placeholder1@example.com")
    User.objects.filter(pk=punycode.pk).update(email="b@xn--exmple-cua.com")
    joiner = UserFactory(email="placeholder2@example.com")
    User.objects.filter(pk=joiner.pk).update(email="c@exa\u200dmple.com")
    quoted = UserFactory(email="placeholder3@example.com")
    User.objects.filter(pk=quoted.pk).update(email='"d"@example.com')

    run_data_function("accounts.migrations.0007_emails_as_delivered", "canonicalise_emails")

    punycode.refresh_from_db()
    joiner.refresh_from_db()
    assert punycode.email == "b@ex\u00e4mple.com"
    assert joiner.email == "c@example.com"
    quoted.refresh_from_db()
    assert quoted.email == "d@example.com"
    assert (
        APIClient()
        .post("/api/auth/token/", {"email": "b@xn--exmple-cua.com", "password": PASSWORD})
        .status_code
        == 200
    )
