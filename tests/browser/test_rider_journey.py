import re

from django.conf import settings
from playwright.sync_api import expect

from rides.models import Ride
from tests.browser.support import BROWSER, screenshot
from tests.factories import PASSWORD, UnicornFactory, UserFactory

pytestmark = BROWSER

CODE = re.compile(r"\b(\d{6})\b")


def click_map_centre(page):
    page.locator("[data-map-ready]").wait_for(state="attached")
    page.locator("#ride-map").click()  # Playwright clicks the middle of the element


def test_a_new_rider_signs_up_rides_a_unicorn_and_finds_the_ride_in_history(
    page, live_server, mailoutbox
):
    # A unicorn ~100 m north of the map centre, where the rider will click.
    UnicornFactory(
        name="Shadowfax",
        color="white",
        gender="male",
        latitude=settings.CITY_CENTER[0] + 0.0009,
        longitude=settings.CITY_CENTER[1],
    )

    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ride a unicorn.")
    page.get_by_role("link", name=re.compile("Get started")).click()

    expect(page).to_have_url(re.compile(r"/register/$"))
    page.get_by_label("Your name").fill("Nova Rider")
    page.get_by_label("E-mail").fill("nova@example.com")
    page.get_by_label("Password").fill("glitter-and-hooves-77")
    page.get_by_role("button", name="Create account").click()

    expect(page).to_have_url(re.compile(r"/verify/\?"))
    expect(page.locator("[data-form-status]")).to_have_text(
        "We e-mailed a 6-digit code to nova@example.com."
    )
    (message,) = mailoutbox
    assert message.to == ["nova@example.com"]
    code = CODE.search(message.body).group(1)
    page.get_by_label("Confirmation code").fill(code)
    page.get_by_role("button", name="Confirm", exact=True).click()

    expect(page).to_have_url(re.compile(r"/signin/\?"))
    expect(page.locator("[data-form-status]")).to_contain_text("Your e-mail is confirmed.")
    expect(page.get_by_label("E-mail")).to_have_value("nova@example.com")
    page.get_by_label("Password").fill("glitter-and-hooves-77")
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(re.compile(r"/ride/$"))
    click_map_centre(page)
    expect(page.locator(".wr-marker-pickup")).to_be_visible()
    expect(page.locator("[data-estimate-amount]")).to_have_text("$12.50")
    screenshot(page, "journey-1-pickup-and-estimate")

    page.get_by_role("button", name="Request Unicorn").click()
    message = page.locator("[data-ride-message]")
    expect(message).to_have_text("Shadowfax, your white unicorn, is on his way.")
    expect(page.locator("[data-ride-eta]")).to_have_text(re.compile(r"\d+ seconds"))
    expect(page.locator("[data-ride-fare]")).to_have_text("$12.50")
    expect(page.locator("[data-ride-discount]")).to_have_text(re.compile("None|% off"))
    expect(page.locator(".wr-marker-unicorn")).to_be_visible()
    screenshot(page, "journey-2-unicorn-on-the-way")

    expect(message).to_have_text("Shadowfax has arrived. Giddy up!")
    screenshot(page, "journey-3-arrived")
    page.get_by_role("button", name="Complete ride").click()
    expect(message).to_contain_text("Ride complete.")
    expect(page.locator("[data-ride-status]")).to_have_text(
        "You paid $12.50. The ride is in your history."
    )

    page.get_by_role("link", name="See your rides").click()
    row = page.locator("[data-rides-body] tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Shadowfax")
    expect(row).to_contain_text("Completed")
    expect(row).to_contain_text("$12.50")
    screenshot(page, "journey-4-history")

    ride = Ride.objects.get()
    assert ride.rider.email == "nova@example.com"
    assert ride.status == Ride.Status.COMPLETED


def test_a_rider_signs_in_with_the_form_and_out_with_the_header(page, live_server):
    UserFactory(email="sam@example.com")

    page.goto("/signin/?next=/history/")
    page.get_by_label("E-mail").fill("sam@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/history/$"))
    expect(page.get_by_text("No rides yet.")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live_server.url}/")
    page.goto("/history/")
    expect(page).to_have_url(re.compile(r"/signin/\?next=/history/$"))
