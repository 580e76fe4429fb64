"""`Authorization: Token <key>` on the API (accounts.authentication.TokenAuthentication)."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def client_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_riders_token_signs_the_rider_in():
    rider = UserFactory(full_name="Ada Rider")
    token = Token.objects.create(user=rider)

    response = client_with(token.key).get("/api/auth/me/")

    assert response.status_code == 200
    assert response.json()["email"] == rider.email


def test_an_unknown_token_is_refused_with_a_sentence():
    response = client_with("0" * 40).get("/api/rides/")

    assert response.status_code == 401
    assert response.json() == {"detail": "That token is not valid. Ask for a new one."}


def test_the_token_of_a_deactivated_rider_is_refused():
    rider = UserFactory(is_active=False)
    token = Token.objects.create(user=rider)

    response = client_with(token.key).get("/api/rides/")

    assert response.status_code == 401
    assert response.json() == {"detail": "User inactive or deleted."}


def test_a_deleted_token_stops_working_at_once():
    token = Token.objects.create(user=UserFactory())
    client = client_with(token.key)
    assert client.get("/api/rides/").status_code == 200

    token.delete()

    assert client.get("/api/rides/").status_code == 401
