"""One form of an e-mail address for storage, lookup and throttling (issue 16, item 3).

PostgreSQL's UPPER() folds dotless i (U+0131) to `I` and long s (U+017F) to `S`, and
Python's case-insensitive regular expressions (Django's e-mail validator) accept them as
`i` and `s`. Addresses are
stored folded and compared exactly, so every spelling of an address is the same account
and spends the same throttle budget, on SQLite and PostgreSQL alike.
"""

import pytest
from rest_framework.test import APIClient

from accounts.models import User, canonical_email
from accounts.throttles import AuthAttemptsPerAddress, AuthAttemptsPerEmail
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

# Spellings that stand for rider@example.com.
VARIANTS = [
    "RIDER@EXAMPLE.COM",
    " Rider@Example.com ",
    "r\u0131der@example.com",  # dotless i
    "R\u0131DER@EXAMPLE.COM",
    "\uff52\uff49\uff44\uff45\uff52@example.com",  # full-width letters
    "rider\uff20\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com",  # full-width at sign and domain
]
LONG_S = "ri\u017fk@example.com"  # long s: risk@example.com
COMBINING = "jose\u0301@example.com"  # e + combining acute


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("RIDER@EXAMPLE.COM", "rider@example.com"),
        ("r\u0131der@example.com", "rider@example.com"),
        ("R\u0131DER@example.com", "rider@example.com"),
        (LONG_S, "risk@example.com"),
        ("\uff52\uff49\uff44\uff45\uff52\uff20example.com", "rider@example.com"),
        ("\u212aate@example.com", "kate@example.com"),  # Kelvin sign
        (COMBINING, "jos\u00e9@example.com"),
        ("JOS\u00c9@example.com", "jos\u00e9@example.com"),
        ("stra\u00dfe@example.com", "strasse@example.com"),
        ("  padded@example.com\t", "padded@example.com"),
    ],
)
def test_every_spelling_folds_to_one_canonical_address(raw, canonical):
    assert canonical_email(raw) == canonical
    assert canonical_email(canonical) == canonical


def test_addresses_are_stored_canonical_whoever_creates_them():
    user = UserFactory(email="R\u0131DER@\uff25xample.com")
    user.refresh_from_db()
    assert user.email == "rider@example.com"
    assert User.objects.get_by_natural_key("RIDER@example.com") == user


@pytest.mark.parametrize("spelling", VARIANTS)
def test_any_spelling_of_an_address_signs_in_to_the_same_account(api, spelling):
    rider = UserFactory(email="rider@example.com")
    response = api.post("/api/auth/token/", {"email": spelling, "password": PASSWORD})
    assert response.status_code == 200, response.json()
    me = APIClient()
    me.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert me.get("/api/auth/me/").json()["email"] == rider.email


@pytest.mark.parametrize("spelling", ["r\u0131der@example.com", "\uff52ider@example.com"])
def test_a_second_account_with_another_spelling_is_refused(api, spelling):
    UserFactory(email="rider@example.com")
    response = api.post(
        "/api/auth/register/", {"email": spelling, "password": "galloping-rainbow-42"}
    )
    assert response.status_code == 400
    assert "already exists" in response.json()["email"][0]
    assert User.objects.count() == 1


def test_a_long_s_spelling_is_the_same_account_as_plain_s(api):
    UserFactory(email="risk@example.com")
    response = api.post("/api/auth/token/", {"email": LONG_S, "password": PASSWORD})
    assert response.status_code == 200


@pytest.fixture
def low_limits(monkeypatch):
    monkeypatch.setattr(
        AuthAttemptsPerAddress, "THROTTLE_RATES", {"auth_address": "100/minute"}, raising=False
    )
    monkeypatch.setattr(
        AuthAttemptsPerEmail, "THROTTLE_RATES", {"auth_email": "3/minute"}, raising=False
    )


def test_after_the_limit_no_spelling_of_the_address_gets_another_guess(low_limits):
    UserFactory(email="rider@example.com")
    for n in range(3):
        client = APIClient(REMOTE_ADDR=f"10.0.1.{n}")
        client.post("/api/auth/token/", {"email": "rider@example.com", "password": "x" * 12})
    spellings = [
        "rider@example.com",
        "r\u0131der@example.com",
        "RIDER@EXAMPLE.COM",
        "\uff52ider@example.com",
        "rider@\uff45xample.com",
    ]
    for n, spelling in enumerate(spellings):
        client = APIClient(REMOTE_ADDR=f"10.0.2.{n}")
        # Even the right password: the account's budget is spent.
        response = client.post("/api/auth/token/", {"email": spelling, "password": PASSWORD})
        assert response.status_code == 429, spelling
        assert int(response["Retry-After"]) > 0


def test_a_combining_accent_spends_the_composed_letters_budget(low_limits):
    for n in range(3):
        client = APIClient(REMOTE_ADDR=f"10.0.4.{n}")
        client.post("/api/auth/token/", {"email": "jos\u00e9@example.com", "password": "x" * 12})
    client = APIClient(REMOTE_ADDR="10.0.4.9")
    response = client.post("/api/auth/token/", {"email": COMBINING, "password": "x" * 12})
    assert response.status_code == 429


def test_sign_up_confirm_and_resend_share_the_addresss_budget(low_limits):
    spellings = [
        "new@example.com",
        "N\u0131W@example.com".replace("\u0131", "E"),
        "\uff4eew@example.com",
    ]
    answers = []
    for n, spelling in enumerate(spellings):
        client = APIClient(REMOTE_ADDR=f"10.0.3.{n}")
        answers.append(client.post("/api/auth/resend-code/", {"email": spelling}).status_code)
    client = APIClient(REMOTE_ADDR="10.0.3.9")
    answers.append(
        client.post(
            "/api/auth/confirm/", {"email": "NEW@example.com", "code": "123456"}
        ).status_code
    )
    assert answers == [202, 202, 202, 429]


def test_existing_addresses_are_made_canonical_by_the_migration():
    from tests.migrations import run_data_function

    older = UserFactory(email="plain@example.com")
    User.objects.filter(pk=older.pk).update(email="Plain@Example.com")
    newer = UserFactory(email="someone@example.com")
    User.objects.filter(pk=newer.pk).update(email="pla\u0131n@example.com")

    run_data_function(
        "accounts.migrations.0005_canonical_email_codes_scopes", "canonicalise_emails"
    )

    older.refresh_from_db()
    newer.refresh_from_db()
    assert older.email == "plain@example.com"
    # The newer twin keeps its old spelling, which no lookup reaches.
    assert newer.email == "pla\u0131n@example.com"


def test_a_payment_finds_its_payer_by_any_spelling_of_the_address(finance):
    from payments.models import Payment
    from tests.conftest import client_for

    rider = UserFactory(email="rider@example.com")
    body = {
        "amount": "12.50",
        "currency": "USD",
        "reference": "SPELLING-1",
        "payer_email": "R\u0131DER@example.com",
    }
    response = client_for(finance).post("/api/payments/", body)
    assert response.status_code == 201, response.json()
    assert Payment.objects.get(reference="SPELLING-1").payer == rider
