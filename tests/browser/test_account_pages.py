"""Account self-service on the rider pages, in a real browser: password reset by e-mailed
code, password change (other sessions end), closing the account (issue 16, item 5)."""

import re

from django.test import Client
from playwright.sync_api import expect

from accounts.models import User
from accounts.services import register_rider
from tests.browser.support import BROWSER
from tests.factories import PASSWORD, RideFactory, UserFactory

pytestmark = BROWSER

NEW_PASSWORD = "moonlit-meadow-canter-31"
RESET_CODE = re.compile(r"reset code is (\d{6})")


def can_sign_in(email: str, password: str) -> bool:
    return (
        Client()
        .post(
            "/api/auth/token/",
            {"email": email, "password": password},
            content_type="application/json",
        )
        .status_code
        == 200
    )


def test_a_rider_resets_a_forgotten_password_with_the_emailed_code(page, mailoutbox):
    UserFactory(email="forgetful@example.com")

    page.goto("/signin/")
    page.get_by_role("link", name="Reset it").click()
    expect(page).to_have_url(re.compile(r"/reset-password/"))
    ask = page.locator("[data-reset-request-form]")
    ask.get_by_label("E-mail").fill("Forgetful@Example.com")
    ask.get_by_role("button", name="E-mail me a code").click()
    expect(ask.locator("[data-form-status]")).to_have_text(
        "If an account has this e-mail, we sent it a 6-digit code to reset the password."
    )

    code = RESET_CODE.search(mailoutbox[-1].body).group(1)
    confirm = page.locator("[data-reset-confirm-form]")
    expect(confirm.get_by_label("E-mail")).to_have_value("Forgetful@Example.com")
    confirm.get_by_label("Reset code").fill(code)
    confirm.get_by_label("New password").fill(NEW_PASSWORD)
    confirm.get_by_role("button", name="Set the new password").click()

    expect(confirm.locator("[data-form-status]")).to_contain_text("Your password is changed.")
    assert can_sign_in("forgetful@example.com", NEW_PASSWORD)
    assert not can_sign_in("forgetful@example.com", PASSWORD)


def test_a_wrong_reset_code_is_said_on_the_code_field(page, mailoutbox):
    UserFactory(email="forgetful@example.com")
    page.goto("/reset-password/?email=forgetful@example.com")
    confirm = page.locator("[data-reset-confirm-form]")
    confirm.get_by_label("Reset code").fill("123456")
    confirm.get_by_label("New password").fill(NEW_PASSWORD)
    confirm.get_by_role("button", name="Set the new password").click()

    expect(confirm.locator("[data-error-for='code']")).to_have_text(
        "That code is not right or has expired. 4 tries left."
    )
    assert can_sign_in("forgetful@example.com", PASSWORD)


def test_a_password_change_keeps_this_browser_and_signs_out_the_others(new_page, sign_in):
    rider = UserFactory()
    here, elsewhere = new_page(), new_page()
    sign_in(here, rider)
    sign_in(elsewhere, rider)

    here.goto("/account/")
    form = here.locator("[data-password-change-form]")
    form.get_by_label("Current password").fill(PASSWORD)
    form.get_by_label("New password").fill(NEW_PASSWORD)
    form.get_by_role("button", name="Change password").click()

    expect(form.locator("[data-form-status]")).to_have_text(
        "Your password is changed. You are signed out everywhere else."
    )
    here.goto("/account/")
    expect(here).to_have_url(re.compile(r"/account/$"))
    elsewhere.goto("/account/")
    expect(elsewhere).to_have_url(re.compile(r"/signin/"))
    assert can_sign_in(rider.email, NEW_PASSWORD)


def test_a_wrong_current_password_is_said_on_its_field(page, sign_in):
    rider = UserFactory()
    sign_in(page, rider)
    page.goto("/account/")
    form = page.locator("[data-password-change-form]")
    form.get_by_label("Current password").fill("not-my-password")
    form.get_by_label("New password").fill(NEW_PASSWORD)
    form.get_by_role("button", name="Change password").click()

    expect(form.locator("[data-error-for='current_password']")).to_have_text(
        "That is not your current password."
    )
    assert can_sign_in(rider.email, PASSWORD)


def test_a_rider_closes_the_account(page, sign_in):
    rider = UserFactory(email="leaving@example.com", full_name="Lea Ving")
    sign_in(page, rider)
    page.goto("/account/")
    form = page.locator("[data-delete-account-form]")

    form.get_by_label("Your password, to confirm").fill("not-my-password")
    form.get_by_role("button", name="Close my account").click()
    expect(form.locator("[data-error-for='password']")).to_have_text("That is not your password.")

    form.get_by_label("Your password, to confirm").fill(PASSWORD)
    form.get_by_role("button", name="Close my account").click()
    expect(form.locator("[data-form-status]")).to_contain_text("Your account is closed.")

    rider.refresh_from_db()
    assert not rider.is_active
    assert rider.full_name == ""
    assert not User.objects.filter(email="leaving@example.com").exists()
    page.goto("/account/")
    expect(page).to_have_url(re.compile(r"/signin/"))


def test_an_account_with_a_ride_under_way_is_not_closed(page, sign_in):
    rider = UserFactory()
    RideFactory(rider=rider, status="in_progress")
    sign_in(page, rider)
    page.goto("/account/")
    form = page.locator("[data-delete-account-form]")
    form.get_by_label("Your password, to confirm").fill(PASSWORD)
    form.get_by_role("button", name="Close my account").click()

    expect(form.locator("[data-form-status]")).to_have_text(
        "You have a ride under way. Finish or cancel it, then close your account."
    )
    rider.refresh_from_db()
    assert rider.is_active


def test_a_code_typed_in_full_width_digits_confirms_the_account(page, mailoutbox):
    """A Japanese keyboard in its usual mode types full-width digits (U+FF14 for 4): the page
    said 'The code is the 6 digits from the e-mail' and sent nothing; the API, asked
    directly, called the right code 'not right' and spent a try."""
    register_rider(email="kumiko@example.com", password="glitter-and-hooves-77")
    code = re.search(r"\b(\d{6})\b", mailoutbox[0].body).group(1)
    full_width = "".join(chr(0xFF10 + int(digit)) for digit in code)

    page.goto("/verify/?email=kumiko@example.com")
    page.get_by_label("Confirmation code").fill(full_width)
    page.get_by_role("button", name="Confirm", exact=True).click()

    expect(page).to_have_url(re.compile(r"/signin/\?.*confirmed=1"))
    assert User.objects.get(email="kumiko@example.com").is_confirmed
