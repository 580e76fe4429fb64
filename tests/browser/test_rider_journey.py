"""The rider's journey in a real browser, at phone and desktop sizes, against the real API
and its server-driven ride (RIDE_TIME_SCALE makes minutes of travel pass in seconds)."""

import itertools
import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from rides import services
from rides.models import Ride
from tests.browser.support import (
    BROWSER,
    DESKTOP,
    PHONE,
    open_ride_page,
    request_a_unicorn,
    screenshot,
    serve_blank_tiles,
    set_pickup_at_the_centre,
    tap_the_map,
)
from tests.factories import PASSWORD, OperatorFactory, UnicornFactory, UserFactory

pytestmark = BROWSER

CODE = re.compile(r"\b(\d{6})\b")
LAT, LNG = settings.CITY_CENTER
SIZES = pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
BOARD = "I\u2019m on board"
ON_HIS_WAY = "Shadowfax, your white unicorn, is on his way."
COUNTDOWN = re.compile(r"^(\d+ min \d\d s|\d+ s|Any moment)$")


@pytest.fixture
def fast_rides(settings):
    # 300 m at UNICORN_SPEED_KMH 30 is 36 s of travel: about 3 s at 12 times the speed.
    settings.RIDE_TIME_SCALE = 12


def shadowfax(north_m=300):
    return UnicornFactory(
        name="Shadowfax",
        color="white",
        gender="male",
        latitude=LAT + north_m / 111_000,
        longitude=LNG,
    )


def size_of(page):
    return "phone" if page.viewport_size["width"] < 600 else "desktop"


def assert_in_view_without_scrolling(page, *locators):
    height = page.viewport_size["height"]
    for locator in locators:
        box = locator.bounding_box()
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= height, (locator, box)
    assert page.evaluate("document.scrollingElement.scrollTop") == 0


# The unicorn's disc stands beside the pickup pin, as when it has come to the pickup: its
# left edge at the pin's right edge, its bottom a little above the pin's tip.
UNICORN_BESIDE_THE_PIN = """() => {
  const pin = document.querySelector(".wr-marker-pickup").getBoundingClientRect();
  const disc = document.querySelector(".wr-unicorn-disc").getBoundingClientRect();
  return Math.abs(disc.left - pin.right) <= 8 && Math.abs(disc.bottom - pin.bottom) <= 24;
}"""


def unicorn_position(page):
    return page.locator(".wr-marker-unicorn").evaluate("node => node.style.transform")


@SIZES
def test_a_rider_requests_watches_the_unicorn_come_boards_and_gets_the_receipt(
    new_page, sign_in, fast_rides, viewport
):
    shadowfax()
    rider = UserFactory()
    page = new_page(viewport)
    sign_in(page, rider)
    size = size_of(page)

    open_ride_page(page)
    expect(page.locator(".wr-marker-nearby")).to_have_count(1)  # the free unicorn, before
    set_pickup_at_the_centre(page)
    expect(page.locator("[data-pickup-text]")).to_have_text("Downtown Seattle")
    request = page.get_by_role("button", name="Request a unicorn")
    assert_in_view_without_scrolling(page, request, page.locator("[data-estimate-amount]"))
    screenshot(page, f"journey-1-pickup-and-estimate-{size}")

    request.click()
    message = page.locator("[data-ride-message]")
    expect(message).to_have_text(ON_HIS_WAY)
    expect(page.locator("[data-ride-eta]")).to_have_text(COUNTDOWN)
    expect(page.locator("[data-ride-fare]")).to_have_text("$12.50")
    expect(page.locator(".ride-reference")).to_have_text(
        re.compile(r"^Ride WR-[0-9A-Z]{6} · from Downtown Seattle$")
    )
    expect(page.locator(".wr-marker-unicorn")).to_contain_text("Shadowfax")
    expect(page.locator(".wr-marker-nearby")).to_have_count(0)
    # Only what can be done now: cancel, for free.
    expect(page.get_by_role("button", name="Cancel ride")).to_be_visible()
    expect(page.get_by_role("button", name=BOARD)).to_be_hidden()
    expect(page.get_by_role("button", name="Complete ride")).to_be_hidden()
    assert_in_view_without_scrolling(page, message)
    started_at = unicorn_position(page)
    screenshot(page, f"journey-2-unicorn-on-the-way-{size}")

    expect(message).to_have_text("Shadowfax has arrived. Giddy up!", timeout=15_000)
    assert unicorn_position(page) != started_at  # it travelled on the map
    # ... all the way: it stands beside the pickup pin (its marker sits beside its point).
    page.wait_for_function(UNICORN_BESIDE_THE_PIN, timeout=3_000)
    board = page.get_by_role("button", name=BOARD)
    expect(board).to_be_visible()
    expect(page.get_by_role("button", name="Complete ride")).to_be_hidden()
    assert_in_view_without_scrolling(page, message, board)
    screenshot(page, f"journey-3-arrived-{size}")

    board.click()
    expect(message).to_have_text("You are riding Shadowfax. Enjoy the view!")
    expect(page.get_by_role("button", name="Cancel ride")).to_be_hidden()
    complete = page.get_by_role("button", name="Complete ride")
    screenshot(page, f"journey-4-on-board-{size}")
    complete.click()

    expect(message).to_have_text("Ride complete. Thanks for riding with Shadowfax!")
    expect(page.locator("[data-ride-detail]")).to_have_text(
        "You paid $12.50. The receipt is in your history."
    )
    expect(complete).to_be_hidden()
    screenshot(page, f"journey-5-complete-{size}")

    ride = Ride.objects.get()
    assert ride.status == Ride.Status.COMPLETED
    page.get_by_role("link", name="See the receipt").click()
    expect(page).to_have_url(re.compile(rf"/history/{ride.id}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Ride {ride.reference}")
    expect(page.locator(".receipt-total")).to_contain_text("Fare charged")
    expect(page.locator(".receipt-total")).to_contain_text("$12.50")
    expect(page.locator("#receipt-map .wr-marker-pickup")).to_be_visible()
    expect(page.locator(".receipt-route")).to_contain_text("Downtown Seattle")
    screenshot(page, f"journey-6-receipt-{size}")

    page.get_by_role("link", name="All your rides").click()
    row = page.locator("[data-rides-body] tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Shadowfax")
    expect(row).to_contain_text("Completed")
    expect(row).to_contain_text("$12.50")
    expect(row).to_contain_text("From Downtown Seattle")  # its place, not its coordinates
    screenshot(page, f"journey-7-history-{size}")


@SIZES
def test_an_operators_cancellation_reaches_the_rider_within_seconds(new_page, sign_in, viewport):
    shadowfax(north_m=3000)  # six minutes away: still on the way when the operator acts
    rider = UserFactory()
    page = new_page(viewport)
    sign_in(page, rider)
    request_a_unicorn(page)
    message = page.locator("[data-ride-message]")
    expect(message).to_have_text(ON_HIS_WAY)

    services.cancel_ride(ride=Ride.objects.get(), by=OperatorFactory())  # as the admin does

    expect(message).to_have_text("Your ride was cancelled by Wild Rydes.", timeout=5_000)
    expect(page.locator("[data-ride-detail]")).to_have_text("You were not charged.")
    expect(page.locator("[data-ride-fare]")).to_have_text("$0.00")  # one line on a phone
    expect(page.get_by_role("button", name="Cancel ride")).to_be_hidden()
    expect(page.get_by_role("button", name="Request another unicorn")).to_be_visible()
    screenshot(page, f"journey-operator-cancelled-{size_of(page)}")

    page.goto("/history/")
    expect(page.locator("[data-rides-body] tr")).to_contain_text("Not charged")


def test_the_ride_survives_a_reload_and_shows_in_a_second_tab(new_page, sign_in):
    shadowfax(north_m=3000)
    rider = UserFactory()
    page = new_page(PHONE)
    sign_in(page, rider)
    request_a_unicorn(page)
    expect(page.locator("[data-ride-message]")).to_have_text(ON_HIS_WAY)

    page.reload()
    expect(page.locator("[data-ride-message]")).to_have_text(ON_HIS_WAY)
    expect(page.get_by_role("button", name="Request a unicorn")).to_be_hidden()

    second = page.context.new_page()
    open_ride_page(second)
    expect(second.locator("[data-ride-message]")).to_have_text(ON_HIS_WAY)
    second.get_by_role("button", name="Cancel ride").click()
    expect(second.locator("[data-ride-message]")).to_have_text("Your ride is cancelled.")
    # The first tab follows within a poll.
    expect(page.locator("[data-ride-message]")).to_contain_text("cancelled", timeout=5_000)
    assert Ride.objects.get().status == Ride.Status.CANCELLED


def test_a_new_rider_signs_up_and_lands_on_the_ride_page(page, mailoutbox):
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ride a unicorn.")
    page.get_by_role("link", name=re.compile("Get started")).click()

    expect(page).to_have_url(re.compile(r"/register/$"))
    # The form's script (deferred) has run by DOMContentLoaded; a click before it submits
    # the form natively (seen under load: /verify/?email=...&code=... instead of /signin/).
    page.wait_for_load_state("domcontentloaded")
    page.get_by_label("Your name").fill("Nova Rider")
    page.get_by_label("E-mail").fill("nova@example.com")
    page.get_by_label("Password").fill("glitter-and-hooves-77")
    page.get_by_role("button", name="Create account").click()

    expect(page).to_have_url(re.compile(r"/verify/\?"))
    expect(page.locator("[data-form-status]")).to_have_text(
        "We e-mailed a 6-digit code to nova@example.com."
    )
    (message,) = mailoutbox
    code = CODE.search(message.body).group(1)
    page.wait_for_load_state("domcontentloaded")
    page.get_by_label("Confirmation code").fill(code)
    page.get_by_role("button", name="Confirm", exact=True).click()

    expect(page).to_have_url(re.compile(r"/signin/\?"))
    expect(page.locator("[data-form-status]")).to_contain_text("Your e-mail is confirmed.")
    expect(page.get_by_label("E-mail")).to_have_value("nova@example.com")
    page.wait_for_load_state("domcontentloaded")
    page.get_by_label("Password").fill("glitter-and-hooves-77")
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(re.compile(r"/ride/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Request a unicorn")


def test_a_pickup_outside_the_service_area_is_refused_on_the_map(page, sign_in, settings):
    settings.SERVICE_AREA = {"latitude": LAT, "longitude": LNG, "radius_km": 0.5}
    sign_in(page, UserFactory())
    open_ride_page(page)

    tap_the_map(page, right=300)  # about 2 km east of the centre at the map's zoom

    expect(page.locator("[data-map-message]")).to_contain_text(re.compile("service area", re.I))
    expect(page.get_by_role("button", name="Request a unicorn")).to_be_disabled()
    # A refused pickup keeps the map in pickup mode: the next tap moves it.
    expect(page.get_by_role("radio", name="Pickup")).to_be_checked()
    screenshot(page, "ride-outside-service-area")
    assert not Ride.objects.exists()


def test_use_my_location_sets_the_pickup_or_says_why_not(browser, live_server, sign_in):
    context = browser.new_context(
        base_url=live_server.url,
        viewport=PHONE,
        geolocation={"latitude": 47.6253, "longitude": -122.3222},  # Capitol Hill
        permissions=["geolocation"],
    )
    serve_blank_tiles(context)
    page = context.new_page()
    sign_in(page, UserFactory())
    open_ride_page(page)
    page.get_by_role("button", name="Use my location").click()
    expect(page.locator("[data-estimate-amount]")).to_have_text("$12.50")
    expect(page.locator("[data-pickup-text]")).to_have_text("Capitol Hill")  # not the centre
    context.close()

    refused = browser.new_context(base_url=live_server.url, viewport=PHONE)
    serve_blank_tiles(refused)
    page = refused.new_page()
    sign_in(page, UserFactory())
    open_ride_page(page)
    page.get_by_role("button", name="Use my location").click()
    expect(page.locator("[data-map-message]")).to_contain_text(
        "You did not allow Wild Rydes to see your location."
    )
    screenshot(page, "ride-location-refused-phone")
    refused.close()


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


def test_a_no_show_expires_and_the_fee_is_said(page, sign_in, settings):
    settings.RIDE_TIME_SCALE = 60  # 300 m in 0.6 s; a 3-minute boarding window in 3 s
    settings.RIDE_BOARDING_MINUTES = 3
    shadowfax()
    sign_in(page, UserFactory())
    request_a_unicorn(page)
    message = page.locator("[data-ride-message]")
    expect(message).to_have_text("Shadowfax has arrived. Giddy up!")
    expect(page.locator("[data-eta-label]")).to_have_text("Board within")

    expect(message).to_have_text("Your ride expired: nobody boarded in time.", timeout=10_000)
    expect(page.locator("[data-ride-detail]")).to_have_text("A no-show fee of $5.00 was charged.")
    expect(page.get_by_role("button", name=BOARD)).to_be_hidden()
    screenshot(page, "journey-expired-desktop")


def test_cancelling_after_the_arrival_says_the_fee_first(page, sign_in, settings):
    settings.RIDE_TIME_SCALE = 60
    shadowfax()
    sign_in(page, UserFactory())
    request_a_unicorn(page)
    expect(page.locator("[data-ride-detail]")).to_contain_text("Cancelling now costs $5.00.")

    page.get_by_role("button", name="Cancel ($5.00 fee)").click()
    expect(page.locator("[data-ride-message]")).to_have_text("Your ride is cancelled.")
    expect(page.locator("[data-ride-detail]")).to_have_text(
        "A cancellation fee of $5.00 was charged."
    )
    expect(page.locator("[data-ride-fare]")).to_have_text("$5.00")


def test_a_second_request_from_another_tab_shows_the_ride_under_way(page, sign_in):
    shadowfax(north_m=3000)
    UnicornFactory(name="Moonbeam", latitude=LAT + 0.03, longitude=LNG)
    sign_in(page, UserFactory())
    open_ride_page(page)
    other_tab = page.context.new_page()
    open_ride_page(other_tab)
    set_pickup_at_the_centre(page)
    set_pickup_at_the_centre(other_tab)

    page.get_by_role("button", name="Request a unicorn").click()
    expect(page.locator("[data-ride-message]")).to_contain_text("is on his way.")
    other_tab.get_by_role("button", name="Request a unicorn").click()

    # One active ride per rider: the second tab is told so and follows the first ride.
    expect(other_tab.locator("[data-ride-status]")).not_to_be_empty()
    expect(other_tab.locator("[data-ride-message]")).to_have_text(ON_HIS_WAY)
    assert Ride.objects.count() == 1


def test_with_reduced_motion_the_unicorn_moves_without_gliding(new_page, sign_in, fast_rides):
    """A rider whose device asks for reduced motion sees the unicorn put at each new place
    it is reported at, once a poll, not glide there; it still comes all the way."""
    shadowfax()
    page = new_page(DESKTOP)
    page.emulate_media(reduced_motion="reduce")
    sign_in(page, UserFactory())
    request_a_unicorn(page)
    expect(page.locator("[data-ride-message]")).to_have_text(ON_HIS_WAY)
    page.locator(".wr-marker-unicorn").evaluate(
        """marker => {
          window.__moves = [];
          new MutationObserver(() => window.__moves.push(performance.now()))
            .observe(marker, { attributes: true, attributeFilter: ["style"] });
        }"""
    )
    expect(page.locator("[data-ride-message]")).to_have_text(
        "Shadowfax has arrived. Giddy up!", timeout=15_000
    )
    page.wait_for_function(UNICORN_BESIDE_THE_PIN, timeout=3_000)
    moves = page.evaluate("window.__moves")
    assert moves  # it came
    # Each move on its own, at a poll: none in quick succession, as frames of a glide are.
    assert all(later - earlier > 500 for earlier, later in itertools.pairwise(moves)), moves
