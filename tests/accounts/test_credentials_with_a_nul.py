"""Credentials no one was ever given, with a NUL in them: PostgreSQL's text cannot hold a NUL,
so looking them up failed with a 500 (a token, a service key, the session cookie on every
page). They are what they are: not valid, or no session."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

PICKUP = {"pickup": {"latitude": 47.6062, "longitude": -122.3321}}


def test_a_token_with_a_nul_is_not_valid():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token abc\x00def")

    response = client.get("/api/rides/")

    assert response.status_code == 401
    assert response.json() == {"detail": "That token is not valid. Ask for a new one."}


def test_a_service_key_with_a_nul_is_not_valid():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Api-Key abc\x00.def")

    response = client.post(
        "/api/promos/discounts/",
        {"username": "r@example.com", "latitude": 47.6, "longitude": -122.3},
        format="json",
    )

    assert response.status_code == 401
    assert response.json() == {"detail": "That service key is not valid."}


def test_a_session_cookie_with_a_nul_is_no_session():
    cookie = {"HTTP_COOKIE": "sessionid=abcdefgh\x00ijklmnop"}
    client = Client()

    assert client.get("/", **cookie).status_code == 200
    page = client.get("/ride/", **cookie)
    assert page.status_code == 302
    assert page.url.startswith("/signin/")
    api = client.post("/api/rides/", PICKUP, content_type="application/json", **cookie)
    assert api.status_code == 401
