import pytest
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_password_guessing_on_one_account_is_throttled(api, low_sign_in_limits):
    user = UserFactory()
    codes = [
        api.post("/api/auth/token/", {"email": user.email, "password": f"guess-{n}"}).status_code
        for n in range(4)
    ]
    assert codes == [400, 400, 400, 429]
    refused = api.post("/api/auth/token/", {"email": user.email})
    wait = int(refused["Retry-After"])
    # One sentence with the wait in it: the page shows it as it is (api.js adds its own
    # "Try again in N seconds." only to a sentence without one).
    assert refused.json()["detail"] == (
        f"Too many tries in a short time. Try again in {wait} second{'' if wait == 1 else 's'}."
    )


def test_guessing_from_many_addresses_still_hits_the_account_limit(low_sign_in_limits):
    user = UserFactory()
    codes = []
    for n in range(4):
        client = APIClient(REMOTE_ADDR=f"10.0.0.{n}")
        codes.append(
            client.post("/api/auth/login/", {"email": user.email, "password": "x" * 12}).status_code
        )
    assert codes[-1] == 429


def test_confirmation_code_guessing_is_throttled_per_address(api, low_sign_in_limits):
    codes = [
        api.post(
            "/api/auth/confirm/", {"email": f"person{n}@example.com", "code": "123456"}
        ).status_code
        for n in range(7)
    ]
    assert codes[:6] == [400] * 6
    assert codes[6] == 429


def test_register_is_throttled_per_address(api, low_sign_in_limits):
    codes = [
        api.post(
            "/api/auth/register/", {"email": f"p{n}@example.com", "password": "short"}
        ).status_code
        for n in range(7)
    ]
    assert codes[-1] == 429
