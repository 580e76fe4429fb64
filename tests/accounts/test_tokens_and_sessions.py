"""Tokens and sessions that end (issue 16, item 4)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-secret-77"


def token_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def sign_in_token(user) -> str:
    response = APIClient().post("/api/auth/token/", {"email": user.email, "password": PASSWORD})
    return response.json()["token"]


def session_client(user) -> APIClient:
    client = APIClient()
    assert (
        client.post("/api/auth/login/", {"email": user.email, "password": PASSWORD}).status_code
        == 200
    )
    return client


def test_a_token_unused_for_the_ttl_expires_with_a_sentence(settings):
    settings.API_TOKEN_TTL_DAYS = 30
    token = Token.objects.create(user=UserFactory())
    Token.objects.filter(pk=token.pk).update(created=timezone.now() - timedelta(days=31))

    response = token_client(token.key).get("/api/auth/me/")

    assert response.status_code == 401
    assert "expired" in response.json()["detail"]
    assert "Sign in again" in response.json()["detail"]
    assert not Token.objects.filter(pk=token.pk).exists()


def test_using_a_token_keeps_it_alive(settings):
    settings.API_TOKEN_TTL_DAYS = 30
    token = Token.objects.create(user=UserFactory())
    Token.objects.filter(pk=token.pk).update(created=timezone.now() - timedelta(days=29))

    assert token_client(token.key).get("/api/auth/me/").status_code == 200
    token.refresh_from_db()
    assert timezone.now() - token.created < timedelta(minutes=1)


def test_signing_in_after_expiry_gives_a_working_token(settings):
    user = UserFactory()
    old = Token.objects.create(user=user)
    Token.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(days=31))

    new = sign_in_token(user)

    assert new != old.key
    assert token_client(new).get("/api/auth/me/").status_code == 200


def test_token_check_is_one_query():
    token = Token.objects.create(user=UserFactory())
    client = token_client(token.key)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/auth/me/").status_code == 200
    assert len(queries) == 1, [q["sql"] for q in queries]


def test_signing_out_revokes_the_token():
    user = UserFactory()
    client = token_client(sign_in_token(user))
    assert client.post("/api/auth/logout/").status_code == 200
    assert client.get("/api/auth/me/").status_code == 401


def test_signing_out_everywhere_ends_every_token_and_session():
    user = UserFactory()
    browser = session_client(user)
    other_browser = session_client(user)
    app = token_client(sign_in_token(user))

    assert browser.post("/api/auth/logout-everywhere/").status_code == 200

    assert browser.get("/api/auth/me/").status_code == 401
    assert other_browser.get("/api/auth/me/").status_code == 401
    assert app.get("/api/auth/me/").status_code == 401


def test_a_password_change_ends_other_tokens_and_sessions_but_not_this_session():
    user = UserFactory()
    browser = session_client(user)
    other_browser = session_client(user)
    app = token_client(sign_in_token(user))

    response = browser.post(
        "/api/auth/password/change/",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )

    assert response.status_code == 200
    assert browser.get("/api/auth/me/").status_code == 200
    assert other_browser.get("/api/auth/me/").status_code == 401
    assert app.get("/api/auth/me/").status_code == 401
    assert token_client(response.json()["token"]).get("/api/auth/me/").status_code == 200


def test_a_password_change_by_token_answers_a_new_token_and_ends_the_old_one():
    user = UserFactory()
    old = sign_in_token(user)
    browser = session_client(user)

    response = token_client(old).post(
        "/api/auth/password/change/",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )

    assert response.status_code == 200
    new = response.json()["token"]
    assert new != old
    assert token_client(old).get("/api/auth/me/").status_code == 401
    assert token_client(new).get("/api/auth/me/").status_code == 200
    assert browser.get("/api/auth/me/").status_code == 401


def test_a_password_set_anywhere_else_ends_the_api_tokens():
    """The admin's password form and `manage.py changepassword` call set_password()."""
    user = UserFactory()
    token = Token.objects.create(user=user)
    user.set_password(NEW_PASSWORD)
    user.save()
    assert token_client(token.key).get("/api/auth/me/").status_code == 401


def test_an_admin_signs_an_account_out_everywhere(client):
    rider = UserFactory()
    token = Token.objects.create(user=rider)
    browser = session_client(rider)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.post(
        "/admin/accounts/user/",
        {"action": "sign_out_everywhere", "_selected_action": [rider.pk]},
    )

    assert response.status_code == 302
    assert token_client(token.key).get("/api/auth/me/").status_code == 401
    assert browser.get("/api/auth/me/").status_code == 401


def test_a_token_client_signs_out_without_a_csrf_cookie():
    user = UserFactory()
    key = sign_in_token(user)
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.post("/api/auth/logout/").status_code == 200
    assert token_client(key).get("/api/auth/me/").status_code == 401


def test_a_session_is_not_signed_out_by_another_site():
    user = UserFactory()
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(user)
    response = browser.post("/api/auth/logout/")  # no CSRF token: a cross-site form
    assert response.status_code == 403
    assert browser.get("/api/auth/me/").status_code == 200
