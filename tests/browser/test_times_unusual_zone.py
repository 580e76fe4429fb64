"""The service area's zone (TIME_ZONE, carried on <html data-time-zone>) never breaks the
pages the browser fills in: an unusual zone is written as it is, and a zone the rider's
browser does not know (an older phone's, a name tzdata added after it) leaves the times on
the phone's own clock, with that zone named, rather than an error that stops every script
on the page (history drawn by nobody, buttons that do nothing)."""

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from rides.models import Ride
from tests.browser.support import BROWSER, PHONE, serve_blank_tiles
from tests.factories import RideFactory, UserFactory

pytestmark = BROWSER

WINTER = datetime(2026, 12, 7, 21, 17, tzinfo=UTC)  # 13:17 in Seattle

# What a browser whose time-zone data lacks the service area's zone does with it.
BROWSER_WITHOUT_THE_ZONE = """
(() => {
  const Real = Intl.DateTimeFormat;
  function Patched(locales, options) {
    const wanted = options && options.timeZone;
    if (wanted && wanted === window.__unknownZone) {
      throw new RangeError(`Invalid time zone specified: ${wanted}`);
    }
    return new Real(locales, options);
  }
  Patched.prototype = Real.prototype;
  Patched.supportedLocalesOf = Real.supportedLocalesOf;
  Intl.DateTimeFormat = Patched;
  window.__unknownZone = "America/Los_Angeles";
})();
"""


def _history(browser, live_server, sign_in, rider, *, init_script=None):
    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, timezone_id="Asia/Tokyo", locale="en-US"
    )
    serve_blank_tiles(context)
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, rider)
    page.goto("/history/")
    return context, page, errors


def _rider_with_a_ride():
    rider = UserFactory()
    ride = RideFactory(rider=rider, status=Ride.Status.COMPLETED)
    Ride.objects.filter(pk=ride.pk).update(requested_at=WINTER)
    return rider, ride


@pytest.mark.parametrize(
    ("zone", "written"),
    [("UTC", "7 Dec 2026, 21:17 UTC"), ("Asia/Kolkata", "8 Dec 2026, 02:47 GMT+5:30")],
)
def test_an_unusual_service_zone_is_written_as_it_is(
    browser, live_server, sign_in, settings, zone, written
):
    settings.TIME_ZONE = zone
    rider, _ride = _rider_with_a_ride()
    context, page, errors = _history(browser, live_server, sign_in, rider)
    expect(page.locator("html")).to_have_attribute("data-time-zone", zone)
    expect(page.get_by_text(written)).to_be_visible()
    context.close()
    assert not errors, errors


def test_a_browser_that_does_not_know_the_zone_still_draws_the_history(
    browser, live_server, sign_in
):
    rider, ride = _rider_with_a_ride()
    context, page, errors = _history(
        browser, live_server, sign_in, rider, init_script=BROWSER_WITHOUT_THE_ZONE
    )
    # The ride is listed, its time on the phone's clock (Tokyo) with that zone named, and
    # its amount written: the page's scripts ran.
    row = page.locator(f'[data-ride-id="{ride.pk}"]')
    expect(row).to_contain_text("8 Dec 2026, 06:17 GMT+9")
    expect(row.locator('[data-label="Charged"]')).to_contain_text("$12.50")
    context.close()
    assert not errors, errors
