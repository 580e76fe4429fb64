import re

from django.conf import settings
from django.contrib.sessions.models import Session
from playwright.sync_api import expect

from accounts.services import register_rider
from notifications.models import Notification
from rides.models import Ride
from tests.browser.support import (
    BROWSER,
    DESKTOP,
    PHONE,
    go_offline_for_tiles,
    screenshot,
    serve_blank_tiles,
)
from tests.factories import RideFactory, UnicornFactory, UserFactory

pytestmark = BROWSER


def test_a_wrong_confirmation_code_is_refused_and_a_new_code_can_be_sent(page, mailoutbox):
    register_rider(email="dora@example.com", password="glitter-and-hooves-77")
    right_code = re.search(r"\b(\d{6})\b", mailoutbox[0].body).group(1)
    wrong_code = f"{(int(right_code) + 1) % 10**6:06d}"

    page.goto("/verify/?email=dora@example.com")
    page.get_by_label("Confirmation code").fill(wrong_code)
    page.get_by_role("button", name="Confirm", exact=True).click()

    # Said on the code field itself, which is marked invalid and describes itself by it.
    code_field = page.get_by_label("Confirmation code")
    code_error = page.locator('[data-error-for="code"]')
    expect(code_error).to_have_text("That code is not right. 4 tries left.")
    expect(code_field).to_have_attribute("aria-invalid", "true")
    expect(code_field).to_have_attribute("aria-describedby", re.compile(r"\bf-code-error\b"))
    expect(code_field).to_be_focused()
    expect(page).to_have_url(re.compile(r"/verify/"))
    screenshot(page, "failure-wrong-code")
    page.set_viewport_size(PHONE)
    screenshot(page, "failure-wrong-code-phone")
    page.set_viewport_size(DESKTOP)

    status = page.locator("[data-form-status]")
    page.get_by_role("button", name="Send a new code").click()
    expect(status).to_have_text("If that account waits for confirmation, a new code is on its way.")
    assert len(mailoutbox) == 2


def test_a_code_sent_before_the_pages_script_has_run_never_goes_into_a_url(page, mailoutbox):
    """Enter pressed while the page's script is still on its way (a slow phone): the form
    does not submit itself natively (once it did, as /verify/?email=...&code=...: browser
    history and server logs). Once the script runs, the same code is checked in the page."""
    register_rider(email="dora@example.com", password="glitter-and-hooves-77")
    right_code = re.search(r"\b(\d{6})\b", mailoutbox[0].body).group(1)
    wrong_code = f"{(int(right_code) + 1) % 10**6:06d}"
    held = []
    page.route(re.compile(r"/verify(\.\w+)?\.js$"), lambda route: held.append(route))

    page.goto("/verify/?email=dora@example.com", wait_until="commit")
    code_field = page.get_by_label("Confirmation code")
    code_field.fill(wrong_code)
    code_field.press("Enter")
    page.wait_for_timeout(300)  # time for a native submission to have left
    assert wrong_code not in page.url
    expect(page).to_have_url(re.compile(r"/verify/\?email=dora@example\.com$"))
    confirm = page.get_by_role("button", name="Confirm", exact=True)
    expect(confirm).to_be_disabled()  # until the script has taken the form over

    held[0].continue_()
    confirm.click()
    expect(page.locator('[data-error-for="code"]')).to_have_text(
        "That code is not right. 4 tries left."
    )
    assert wrong_code not in page.url


def test_a_password_typed_before_the_pages_script_has_run_never_goes_into_a_url(page):
    UserFactory(email="rita@example.com")
    held = []
    page.route(re.compile(r"/signin(\.\w+)?\.js$"), lambda route: held.append(route))

    page.goto("/signin/", wait_until="commit")
    page.get_by_label("E-mail").fill("rita@example.com")
    page.get_by_label("Password").fill("not-my-password")
    page.get_by_label("Password").press("Enter")
    page.wait_for_timeout(300)  # time for a native submission to have left
    expect(page).to_have_url(re.compile(r"/signin/$"))
    expect(page.get_by_role("button", name="Sign in")).to_be_disabled()

    held[0].continue_()
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("[data-form-status]")).to_have_text("Wrong e-mail or password.")
    expect(page).to_have_url(re.compile(r"/signin/$"))


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
    expect(email_error).to_contain_text("An account with this e-mail already exists.")
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
    page.get_by_role("button", name="Request a unicorn").click()

    retry = settings.DISPATCH_RETRY_AFTER_SECONDS
    expect(page.locator("[data-ride-status]")).to_have_text(
        f"No unicorn is free near you right now. Try again in {retry} seconds."
    )
    request = page.locator("[data-request]")
    expect(request).to_be_disabled()
    expect(request).to_have_text(re.compile(r"Try again in \d+ s"))
    screenshot(page, "failure-no-unicorn-offline-map")
    assert not Ride.objects.exists()


NO_STREETS = "The map could not load its streets; your pins and unicorns still show."


def test_a_map_without_tiles_says_so_and_stops_once_they_load(new_page, sign_in):
    """Offline (or with the tile server blocked) the map was a plain canvas with no word."""
    for viewport, name in ((PHONE, "phone"), (DESKTOP, "desktop")):
        page = new_page(viewport)
        sign_in(page, UserFactory())
        go_offline_for_tiles(page.context)
        page.goto("/ride/")
        page.locator("[data-map-ready]").wait_for(state="attached")
        note = page.locator("#ride-map .map-tiles-note")
        expect(note).to_have_text(NO_STREETS)
        expect(note).to_be_visible()
        # Under it, the page's lavender canvas with its grid, not leaflet.css's plain grey.
        expect(page.locator("#ride-map")).to_have_css("background-color", "rgb(239, 232, 248)")
        page.locator("#ride-map").click()  # the note lets the tap through to the map
        expect(page.locator(".wr-marker-pickup")).to_be_visible()
        screenshot(page, f"failure-map-without-tiles-{name}")

        serve_blank_tiles(page.context)  # back online: the next tiles load
        page.get_by_role("button", name="Zoom in").click()
        expect(note).to_be_hidden()


OVERLAP = """([a, b]) => {
  const r = a.getBoundingClientRect(), s = b.getBoundingClientRect();
  return r.left < s.right && s.left < r.right && r.top < s.bottom && s.top < r.bottom;
}"""


def test_the_no_tiles_note_leaves_the_receipts_route_in_view(new_page, sign_in):
    """On the receipt's small map the note covered the pickup pin at the bottom of the
    route (a 2.8 km trip to the north-west, as the demo's)."""
    rider = UserFactory()
    ride = RideFactory(
        rider=rider,
        status="completed",
        pickup_latitude=47.5952,
        pickup_longitude=-122.3261,
        dropoff_latitude=47.6102,
        dropoff_longitude=-122.3561,
    )
    for viewport in (PHONE, DESKTOP):
        page = new_page(viewport)
        sign_in(page, rider)
        go_offline_for_tiles(page.context)
        page.goto(f"/history/{ride.id}/")
        note = page.locator("#receipt-map .map-tiles-note")
        expect(note).to_be_visible()
        page.wait_for_timeout(300)  # the map frames the route again
        for pin in (".wr-marker-pickup", ".wr-marker-dropoff"):
            marker = page.locator(f"#receipt-map {pin}")
            expect(marker).to_be_visible()
            handles = [marker.element_handle(), note.element_handle()]
            assert not page.evaluate(OVERLAP, handles), (viewport, pin)


def test_a_network_failure_is_explained_in_the_page(page, sign_in):
    sign_in(page, UserFactory())
    page.route(
        re.compile(r"/api/rides/estimate/"), lambda route: route.abort("internetdisconnected")
    )

    page.goto("/ride/")
    page.locator("[data-map-ready]").wait_for(state="attached")
    page.locator("#ride-map").click()

    expect(page.locator("[data-ride-status]")).to_have_text(
        "We could not reach Wild Rydes. Check your connection and try again."
    )
    screenshot(page, "failure-network")


FRAMEWORK_WORDING = re.compile(
    r"may not be blank|is not a valid choice|This field|valid email address"
)


def test_every_field_problem_of_the_sign_up_form_shows_at_once_in_plain_words(page):
    page.goto("/register/")
    page.get_by_label("E-mail").fill("bad@")
    page.get_by_label("Password").fill("abc")
    page.get_by_role("button", name="Create account").click()

    email, password = page.get_by_label("E-mail"), page.get_by_label("Password")
    expect(page.locator('[data-error-for="email"]')).to_have_text(
        "Enter an e-mail address like name@example.com."
    )
    expect(page.locator('[data-error-for="password"]')).to_have_text("Use at least 8 characters.")
    for field in (email, password):
        expect(field).to_have_attribute("aria-invalid", "true")
    expect(email).to_be_focused()
    expect(page.locator("[data-form-status]")).to_have_text("Please check the highlighted fields.")
    screenshot(page, "failure-sign-up-two-fields")
    page.set_viewport_size(PHONE)
    screenshot(page, "failure-sign-up-two-fields-phone")


def test_an_empty_application_names_each_missing_field_without_framework_words(page):
    page.goto("/apply/")
    page.get_by_role("button", name="Send my application").click()

    expected = {
        "name": "Enter your unicorn name.",
        "color": "Enter your coat colour.",
        "gender": "Choose a gender.",
        "email": "Enter your e-mail address.",
    }
    for field, sentence in expected.items():
        error = page.locator(f'[data-error-for="{field}"]')
        expect(error).to_have_text(sentence)
        describedby = page.locator(f'[name="{field}"]').get_attribute("aria-describedby")
        assert f"f-{field}-error" in describedby.split()
    assert not FRAMEWORK_WORDING.search(page.locator("form").inner_text())
    screenshot(page, "failure-empty-application")
    page.set_viewport_size(PHONE)
    screenshot(page, "failure-empty-application-phone")


def test_the_apis_framework_wording_is_said_plainly(page):
    # Should the API still answer in DRF's words, the page says it in plain ones.
    page.route(
        "**/api/unicorn-applications/",
        lambda route: route.fulfill(
            status=400,
            content_type="application/json",
            body='{"gender": ["\\"dragon\\" is not a valid choice."],'
            ' "color": ["This field may not be blank."]}',
        ),
    )
    page.goto("/apply/")
    page.get_by_label("Your unicorn name").fill("Stardust")
    page.get_by_label("Coat colour").fill("silver")
    page.get_by_label("Gender").select_option("female")
    page.get_by_label("E-mail").fill("stardust@example.com")
    page.get_by_role("button", name="Send my application").click()

    expect(page.locator('[data-error-for="gender"]')).to_have_text("Choose a gender.")
    expect(page.locator('[data-error-for="color"]')).to_have_text("Enter your coat colour.")
    assert not FRAMEWORK_WORDING.search(page.locator("form").inner_text())


def test_an_ended_session_says_so_with_a_link_and_the_header_offers_sign_in(page, sign_in):
    rider = UserFactory()
    Notification.objects.create(user=rider, message="Your unicorn is on the way.")
    sign_in(page, rider)
    page.goto("/notifications/")
    mark = page.get_by_role("button", name="Mark as read")
    expect(mark).to_be_visible()

    Session.objects.all().delete()  # the session ends (expiry, sign-out elsewhere)
    mark.click()

    banner = page.locator("[data-site-status]")
    expect(banner).to_contain_text("Your session has ended.")
    link = banner.get_by_role("link", name="Sign in again")
    expect(link).to_have_attribute("href", "/signin/?next=%2Fnotifications%2F")
    header = page.locator(".nav-account")
    expect(header.get_by_role("link", name="Sign in")).to_be_visible()
    expect(header.get_by_role("button", name="Sign out")).to_have_count(0)
    screenshot(page, "failure-session-ended")
    page.set_viewport_size(PHONE)
    screenshot(page, "failure-session-ended-phone")

    link.click()
    expect(page).to_have_url(re.compile(r"/signin/\?next=%2Fnotifications%2F$"))


def test_a_code_pasted_with_a_space_before_it_confirms_the_account(page, mailoutbox):
    """Copied from an e-mail, a code often comes with the space before it: the field keeps
    all of it (a 6-character limit kept the space and dropped the last digit), the server
    trims it."""
    register_rider(email="dora@example.com", password="glitter-and-hooves-77")
    code = re.search(r"\b(\d{6})\b", mailoutbox[0].body).group(1)

    page.goto("/verify/?email=dora@example.com")
    page.get_by_label("Confirmation code").focus()
    page.keyboard.insert_text(f" {code}")  # as a paste inserts it
    page.get_by_role("button", name="Confirm", exact=True).click()

    expect(page).to_have_url(re.compile(r"/signin/\?.*confirmed=1"))
