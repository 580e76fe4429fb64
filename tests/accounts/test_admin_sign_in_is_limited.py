"""The admin's sign-in page (/admin/login/) is a door into the most valuable accounts
(operators, finance, superusers). It had no limit at all: 40 wrong passwords for
operator@example.com in 31 s on a live server, then the right one signed in. It now counts
in the API's sign-in budgets, per e-mail and per client address, shared with
/api/auth/token/ and /api/auth/login/.
"""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def admin_sign_in(email: str, password: str, address: str = "203.0.113.7"):
    browser = Client(REMOTE_ADDR=address)
    response = browser.post(
        "/admin/login/?next=/admin/", {"username": email, "password": password, "next": "/admin/"}
    )
    return browser, response


def test_guessing_a_staff_password_on_the_admin_page_is_stopped(low_sign_in_limits):
    operator = UserFactory(email="operator@example.com", is_staff=True)
    statuses = [
        admin_sign_in(operator.email, f"guess-{n}", address=f"198.51.100.{n}")[1].status_code
        for n in range(3)
    ]
    assert statuses == [200, 200, 200]  # the page again, with "Please enter the correct..."

    browser, response = admin_sign_in("OPERATOR@example.com", PASSWORD, address="192.0.2.1")

    assert response.status_code == 429
    wait = int(response["Retry-After"])
    assert 0 < wait <= 60
    assert f"Too many tries in a short time. Try again in {wait} seconds." in response.text
    assert browser.get("/admin/").status_code == 302  # not signed in


def test_the_admin_page_and_the_api_share_one_budget(low_sign_in_limits):
    operator = UserFactory(email="operator@example.com", is_staff=True)
    admin_sign_in(operator.email, "guess-1", address="198.51.100.1")
    admin_sign_in(operator.email, "guess-2", address="198.51.100.2")
    body = {"email": operator.email, "password": "guess-3"}
    assert APIClient(REMOTE_ADDR="198.51.100.3").post("/api/auth/token/", body).status_code == 400

    body = {"email": operator.email, "password": PASSWORD}
    assert APIClient(REMOTE_ADDR="198.51.100.4").post("/api/auth/token/", body).status_code == 429
    assert admin_sign_in(operator.email, PASSWORD, address="198.51.100.5")[1].status_code == 429


def test_spraying_many_staff_accounts_from_one_address_hits_the_address_limit(low_sign_in_limits):
    statuses = [
        admin_sign_in(f"staff{n}@example.com", "Spring2026!")[1].status_code for n in range(7)
    ]
    assert statuses == [200] * 6 + [429]


def test_a_staff_member_within_the_limits_signs_in(low_sign_in_limits):
    UserFactory(email="operator@example.com", is_staff=True)
    admin_sign_in("operator@example.com", "a-typo")
    browser, response = admin_sign_in("operator@example.com", PASSWORD)
    assert response.status_code == 302
    assert browser.get("/admin/").status_code == 200


def test_guessing_the_current_password_on_the_admins_password_page_is_stopped(low_sign_in_limits):
    """Someone at a staff member's unlocked screen (or with a stolen session) could try
    passwords on /admin/password_change/ without limit, and learn the real one; the API's
    password change counts them in the account's budget."""
    operator = UserFactory(email="operator@example.com", is_staff=True)
    browser = Client(REMOTE_ADDR="203.0.113.9")
    browser.force_login(operator)
    new = {"new_password1": "a-brand-new-secret-77", "new_password2": "a-brand-new-secret-77"}
    statuses = [
        browser.post("/admin/password_change/", {"old_password": f"guess-{n}", **new}).status_code
        for n in range(3)
    ]
    assert statuses == [200, 200, 200]  # "Your old password was entered incorrectly."

    response = browser.post("/admin/password_change/", {"old_password": PASSWORD, **new})

    assert response.status_code == 429
    wait = int(response["Retry-After"])
    assert f"Too many tries in a short time. Try again in {wait} seconds." in response.text
    operator.refresh_from_db()
    assert operator.check_password(PASSWORD)
