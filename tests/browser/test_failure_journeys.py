import re

from django.conf import settings
from playwright.sync_api import expect

from accounts.services import register_rider
from rides.models import Ride
from tests.browser.support import BROWSER, go_offline_for_tiles, screenshot
from tests.factories import UnicornFactory, UserFactory

pytestmark = BROWSER


def test_a_wrong_confirmation_code_is_refused_and_a_new_code_can_be_sent(page, mailoutbox):
    register_rider(email="dora@example.com", password="glitter-and-hooves-77")
    right_code = re.search(r"\b(\d{6})\b", mailoutbox[0].body).group(1)
    wrong_code = f"{(int(right_code) + 1) % 10**6:06d}"

    page.goto("/verify/?email=dora@example.com")
    page.get_by_label("Confirmation code").fill(wrong_code)
    page.get_by_role("button", name="Confirm", exact=True).click()

    status = page.locator("[data-form-status]")
    expect(status).to_have_text("That code is not right. 4 tries left.")
    expect(page).to_have_url(re.compile(r"/verify/"))
    screenshot(page, "failure-wrong-code")

    page.get_by_role("button", name="Send a new code").click()
    expect(status).to_have_text("If that account waits for confirmation, a new code is on its way.")
    assert len(mailoutbox) == 2


def test_a_wrong_password_is_refused_in_the_page(page):
    UserFactory(email="rita@example.com")

    page.goto("/signin/")
    page.get_by_label("E-mail").fill("rita@example.com")
    page.get_by_label("Password").fill("not-my-password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.locator("[data-form-status]")).to_have_text("Wrong e-mail or password.")
    expect(page).to_have_url(re.compile(r"/signin/$"))
    screenshot(page, "failure-wrong-password")


def test_registration_shows_the_apis_messages_next_to_the_fields(page):
    UserFactory(email="taken@example.com")
    page.goto("/register/")

    page.get_by_label("E-mail").fill("taken@example.com")
    page.get_by_label("Password").fill("glitter-and-hooves-77")
    page.get_by_role("button", name="Create account").click()
    email_error = page.locator('[data-error-for="email"]')
    expect(email_error).to_have_text("An account with this e-mail already exists.")
    expect(page.get_by_label("E-mail")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("E-mail").fill("fresh@example.com")
    page.get_by_label("Password").fill("12345678")
    page.get_by_role("button", name="Create account").click()
    expect(email_error).to_be_empty()
    password_error = page.locator('[data-error-for="password"]')
    expect(password_error).to_contain_text("too common")
    expect(password_error).to_contain_text("entirely numeric")
    expect(page.get_by_label("Password")).to_be_focused()
    screenshot(page, "failure-weak-password")


def test_with_no_free_unicorn_the_rider_is_told_when_to_try_again(page, sign_in):
    UnicornFactory(name="Sleepy", on_duty=False)
    rider = UserFactory()
    sign_in(page, rider)
    go_offline_for_tiles(page.context)  # and the map works without tiles

    page.goto("/ride/")
    page.locator("[data-map-ready]").wait_for(state="attached")
    page.locator("#ride-map").click()
    expect(page.locator(".wr-marker-pickup")).to_be_visible()
    expect(page.locator("[data-estimate-amount]")).to_have_text("$12.50")
    page.get_by_role("button", name="Request Unicorn").click()

    retry = settings.DISPATCH_RETRY_AFTER_SECONDS
    expect(page.locator("[data-ride-status]")).to_have_text(
        f"No unicorn is free near you right now. Try again in {retry} seconds."
    )
    request = page.locator("[data-request]")
    expect(request).to_be_disabled()
    expect(request).to_have_text(re.compile(r"Try again in \d+ s"))
    screenshot(page, "failure-no-unicorn-offline-map")
    assert not Ride.objects.exists()


def test_a_network_failure_is_explained_in_the_page(page, sign_in):
    sign_in(page, UserFactory())
    page.route("**/api/rides/estimate/", lambda route: route.abort("internetdisconnected"))

    page.goto("/ride/")
    page.locator("[data-map-ready]").wait_for(state="attached")
    page.locator("#ride-map").click()

    expect(page.locator("[data-ride-status]")).to_have_text(
        "We could not reach Wild Rydes. Check your connection and try again."
    )
    screenshot(page, "failure-network")
