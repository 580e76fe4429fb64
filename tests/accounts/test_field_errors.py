"""The account services say no with sentences per field (Django's ValidationError); the API
answers them as 400 {field: [sentence]}, exactly as a serializer's field errors."""

import pytest

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_a_taken_email_is_a_400_on_the_email_field(api):
    UserFactory(email="taken@example.com")

    response = api.post(
        "/api/auth/register/", {"email": "taken@example.com", "password": "a-long-secret-77"}
    )

    assert response.status_code == 400
    assert response.json() == {
        "email": [
            "An account with this e-mail already exists. If it is yours and not confirmed "
            "yet, ask for a new code."
        ]
    }


def test_a_wrong_current_password_is_a_400_on_that_field(rider_api):
    response = rider_api.post(
        "/api/auth/password/change/",
        {"current_password": "not-my-password", "new_password": "a-brand-new-secret-77"},
    )

    assert response.status_code == 400
    assert response.json() == {"current_password": ["That is not your current password."]}


def test_a_weak_new_password_is_a_400_with_every_reason(rider_api):
    response = rider_api.post(
        "/api/auth/password/change/", {"current_password": PASSWORD, "new_password": "password"}
    )

    assert response.status_code == 400
    assert set(response.json()) == {"new_password"}
    assert "This password is too common." in response.json()["new_password"]


def test_closing_the_account_with_a_wrong_password_is_a_400_on_the_password(rider_api):
    response = rider_api.delete("/api/auth/me/", {"password": "not-my-password"})

    assert response.status_code == 400
    assert response.json() == {"password": ["That is not your password."]}
