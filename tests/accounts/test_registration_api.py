import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import ConfirmationCode, User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "galloping-rainbow-42"


@pytest.fixture
def post(api, django_capture_on_commit_callbacks):
    """POST as a client would; the code is e-mailed on commit, so run those callbacks."""

    def _post(url, body):
        with django_capture_on_commit_callbacks(execute=True):
            return api.post(url, body, format="json")

    return _post


def register(post, email="new@example.com", password=GOOD_PASSWORD):
    return post("/api/auth/register/", {"email": email, "password": password})


def sent_code() -> str:
    return re.search(r"code is (\d{6})", mail.outbox[-1].body).group(1)


def test_register_creates_unconfirmed_user_and_emails_a_six_digit_code(post):
    response = register(post)
    assert response.status_code == 201
    user = User.objects.get(email="new@example.com")
    assert not user.is_confirmed
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new@example.com"]
    assert re.fullmatch(r"\d{6}", sent_code())


def test_code_is_stored_hashed_not_in_clear(post):
    register(post)
    assert sent_code() not in ConfirmationCode.objects.get().code_hash


def test_register_with_a_taken_email_is_refused(post):
    UserFactory(email="taken@example.com")
    response = register(post, email="Taken@Example.com")
    assert response.status_code == 400
    assert "already exists" in response.json()["email"][0]
    assert User.objects.count() == 1


@pytest.mark.parametrize("password", ["short", "password123", "12345678901", "new@example.com"])
def test_register_with_a_weak_password_is_refused_with_the_reason(post, password):
    response = register(post, password=password)
    assert response.status_code == 400
    assert response.json()["password"]
    assert not User.objects.exists()
    assert not mail.outbox


@pytest.mark.parametrize(
    "body",
    [{}, {"email": "not-an-email", "password": GOOD_PASSWORD}, {"email": "a@b.com"}, []],
)
def test_register_with_bad_fields_is_refused(post, body):
    response = post("/api/auth/register/", body)
    assert response.status_code == 400
    assert not User.objects.exists()


def test_confirm_with_the_right_code_confirms_the_account(post):
    register(post)
    response = post("/api/auth/confirm/", {"email": "new@example.com", "code": sent_code()})
    assert response.status_code == 200
    assert User.objects.get().is_confirmed
    assert not ConfirmationCode.objects.exists()


def test_a_code_pasted_with_spaces_around_it_confirms_the_account(post):
    register(post)
    pasted = f" \t{sent_code()}\n"
    response = post("/api/auth/confirm/", {"email": "new@example.com", "code": pasted})
    assert response.status_code == 200
    assert User.objects.get().is_confirmed


@pytest.mark.parametrize("zero", ["\uff10", "\u0660", "\u06f0", "\u0966"])
def test_the_right_code_in_another_scripts_digits_confirms_the_account(post, zero):
    """Full-width digits from a Japanese keyboard, Arabic-Indic, Persian or
    Devanagari ones: the same code. They were 'not right' and spent one of the five tries."""
    register(post)
    typed = "".join(chr(ord(zero) + int(digit)) for digit in sent_code())
    response = post("/api/auth/confirm/", {"email": "new@example.com", "code": typed})
    assert response.status_code == 200
    assert User.objects.get().is_confirmed


def test_confirm_with_a_wrong_code_says_how_many_tries_are_left(post):
    register(post)
    wrong = "000000" if sent_code() != "000000" else "111111"
    response = post("/api/auth/confirm/", {"email": "new@example.com", "code": wrong})
    assert response.status_code == 400
    assert response.json()["detail"] == "That code is not right. 4 tries left."
    assert not User.objects.get().is_confirmed


def test_code_dies_after_five_wrong_tries_even_the_right_one_then(post):
    register(post)
    code = sent_code()
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        post("/api/auth/confirm/", {"email": "new@example.com", "code": wrong})
    response = post("/api/auth/confirm/", {"email": "new@example.com", "code": code})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Too many wrong codes for this address.")
    assert not User.objects.get().is_confirmed


def test_code_expires_after_fifteen_minutes(post):
    register(post)
    ConfirmationCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = post("/api/auth/confirm/", {"email": "new@example.com", "code": sent_code()})
    assert response.status_code == 400
    assert "expired" in response.json()["detail"]


def test_fresh_code_lives_fifteen_minutes(post):
    register(post)
    ttl = ConfirmationCode.objects.get().expires_at - timezone.now()
    assert timedelta(minutes=14) < ttl <= timedelta(minutes=15)


def test_resend_code_replaces_the_old_one(post):
    register(post)
    old = sent_code()
    response = post("/api/auth/resend-code/", {"email": "new@example.com"})
    assert response.status_code == 202
    new = sent_code()
    if new != old:
        refused = post("/api/auth/confirm/", {"email": "new@example.com", "code": old})
        assert refused.status_code == 400
    assert post("/api/auth/confirm/", {"email": "new@example.com", "code": new}).status_code == 200


def test_resend_code_does_not_reveal_unknown_accounts(post):
    response = post("/api/auth/resend-code/", {"email": "nobody@example.com"})
    assert response.status_code == 202
    assert not mail.outbox


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", "123 456", "123456\n7", "", None])
def test_confirm_with_a_malformed_code_is_refused(post, code):
    register(post)
    response = post("/api/auth/confirm/", {"email": "new@example.com", "code": code})
    assert response.status_code == 400
    assert response.json()["code"]


def test_confirm_for_an_unknown_email_is_refused(post):
    response = post("/api/auth/confirm/", {"email": "ghost@example.com", "code": "123456"})
    assert response.status_code == 400


def test_token_for_a_confirmed_user(post):
    user = UserFactory()
    response = post("/api/auth/token/", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 200
    assert len(response.json()["token"]) == 40


def test_token_is_refused_before_confirmation(post):
    user = UserFactory(email_confirmed_at=None)
    response = post("/api/auth/token/", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "Confirm your e-mail" in response.json()["detail"]


def test_token_is_refused_with_a_wrong_password(post):
    user = UserFactory()
    response = post("/api/auth/token/", {"email": user.email, "password": "nope-nope-nope"})
    assert response.status_code == 400
    assert response.json()["detail"] == "Wrong e-mail or password."


def test_token_with_a_bad_token_header_is_refused_on_rides(api):
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = api.get("/api/rides/")
    assert response.status_code == 401
    assert "not valid" in response.json()["detail"]


def test_session_login_then_me_then_logout(api):
    user = UserFactory()
    response = api.post("/api/auth/login/", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 200
    assert api.get("/api/auth/me/").json()["email"] == user.email
    assert api.post("/api/auth/logout/").status_code == 200
    assert api.get("/api/auth/me/").status_code in (401, 403)


def test_session_login_needs_csrf_token():
    from rest_framework.test import APIClient

    user = UserFactory()
    client = APIClient(enforce_csrf_checks=True)
    response = client.post("/api/auth/login/", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 403


def test_a_wrong_code_reads_the_same_for_an_unknown_address(post):
    register(post)
    wrong = "000000" if sent_code() != "000000" else "111111"
    known = post("/api/auth/confirm/", {"email": "new@example.com", "code": wrong})
    unknown = post("/api/auth/confirm/", {"email": "ghost@example.com", "code": wrong})
    assert known.status_code == unknown.status_code == 400
    assert known.json() == unknown.json()
