"""The rider pages on a short screen: a phone held sideways (844x390) and a desktop browser
zoomed to 200% (1280x800 at 200%: a 640x400 page). The ride's state and what the rider can do
about it are in view together, beside a map that is still there to look at.

Before, the phone's bottom sheet got what the map (at least 180 px) left: ~170 px, where the
ride's message and its button did not fit together. After a request by keyboard the focus
went on to 'Cancel ride', the sheet scrolled to it, and the 'is on his way' message went out
of sight; when the unicorn came, 'I'm on board' (5 minutes to press it) was under the fold.
The landing page opens on its headline and its buttons, not on its art alone."""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from tests.browser.support import BROWSER, open_ride_page, screenshot, set_pickup_at_the_centre
from tests.factories import UnicornFactory, UserFactory

pytestmark = BROWSER

LAT, LNG = settings.CITY_CENTER
SIDEWAYS_PHONE = {"width": 844, "height": 390}
ZOOMED_DESKTOP = {"width": 640, "height": 400}

# Whether the element is inside the viewport and seen there: what is drawn at its middle is
# the element itself (not the sheet's edge, the header or another control over it).
SEEN = """(node) => {
  const box = node.getBoundingClientRect();
  const inside = box.width > 0 && box.top >= 0 && box.left >= 0
    && box.bottom <= innerHeight && box.right <= innerWidth;
  const top = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
  return inside && (top === node || node.contains(top));
}"""

# The part of the map on the screen, uncovered: its box inside the viewport, less what the
# ride's sheet covers of it (on a phone upright the sheet lies over the map's bottom).
MAP_SEEN = """() => {
  const map = document.querySelector("#ride-map").getBoundingClientRect();
  const sheet = document.querySelector(".ride-sheet").getBoundingClientRect();
  const left = Math.max(map.left, 0), right = Math.min(map.right, innerWidth);
  let top = Math.max(map.top, 0), bottom = Math.min(map.bottom, innerHeight);
  const overlaps = sheet.left < right && sheet.right > left;
  if (overlaps && sheet.top < bottom && sheet.top > top) bottom = sheet.top;
  return { left, right, top, bottom };
}"""


def assert_seen(page, selector, what):
    node = page.locator(selector)
    expect(node).to_be_visible()
    assert node.evaluate(SEEN), f"{what} is not in view: {node.bounding_box()}"


def assert_the_map_is_seen(page, *, with_the_ride=True):
    seen = page.evaluate(MAP_SEEN)
    width, height = seen["right"] - seen["left"], seen["bottom"] - seen["top"]
    assert width >= 240 and height >= 150, f"the map shows only {width:.0f}x{height:.0f} px"
    if not with_the_ride:  # (once he has come, the unicorn stands on the pin)
        return
    # The markers take no clicks (elementFromPoint goes through them): inside the map's seen part.
    markers = ((".wr-marker-pickup", "The pickup pin"), (".wr-unicorn-disc", "The unicorn"))
    for marker, what in markers:
        box = page.locator(marker).bounding_box()
        inside = (
            seen["left"] <= box["x"]
            and box["x"] + box["width"] <= seen["right"]
            and seen["top"] <= box["y"]
            and box["y"] + box["height"] <= seen["bottom"]
        )
        assert inside, f"{what} is not in the map's seen part {seen}: {box}"


@pytest.mark.parametrize(
    "viewport", [SIDEWAYS_PHONE, ZOOMED_DESKTOP], ids=["phone-sideways", "desktop-200pct"]
)
def test_on_a_short_screen_the_rides_state_and_its_action_are_in_view_together(
    new_page, sign_in, settings, viewport
):
    settings.RIDE_TIME_SCALE = 60  # 2 km away: four minutes of travel, four seconds here
    UnicornFactory(
        name="Shadowfax", color="white", gender="male", latitude=LAT + 0.018, longitude=LNG
    )
    page = new_page(viewport)
    sign_in(page, UserFactory())
    open_ride_page(page)
    set_pickup_at_the_centre(page)
    assert_seen(page, "[data-request]", "Request a unicorn")

    # By keyboard, as the colleague who found it: the focus goes on to 'Cancel ride'.
    page.get_by_role("button", name="Request a unicorn").press("Enter")
    message = page.locator("[data-ride-message]")
    expect(message).to_have_text("Shadowfax, your white unicorn, is on his way.")
    cancel = page.get_by_role("button", name="Cancel ride")
    expect(cancel).to_be_focused()
    page.wait_for_timeout(300)  # the map fitted to the ride
    size = f"{viewport['width']}x{viewport['height']}"
    screenshot(page, f"short-screen-on-his-way-{size}")
    assert_seen(page, "[data-ride-message]", "The 'on his way' message")
    assert_seen(page, "[data-cancel]", "'Cancel ride'")
    assert_the_map_is_seen(page)

    # He comes: the rider has to see that, and press 'I'm on board' in time.
    expect(message).to_have_text("Shadowfax has arrived. Giddy up!", timeout=15_000)
    screenshot(page, f"short-screen-arrived-{size}")
    assert_seen(page, "[data-ride-message]", "The 'has arrived' message")
    assert_seen(page, "[data-board]", "'I'm on board'")
    assert_the_map_is_seen(page, with_the_ride=False)


def test_on_a_phone_held_sideways_the_landing_page_opens_on_its_words_and_buttons(page):
    """One column put the art first: a sideways phone's first screen was a unicorn drawing,
    with the headline and 'Get started' below the fold."""
    page.goto("/")
    for width, height in ((740, 360), (844, 390), (640, 400)):
        page.set_viewport_size({"width": width, "height": height})
        size = f"{width}x{height}"
        screenshot(page, f"short-screen-landing-{size}")
        assert_seen(page, "h1", f"At {size} the headline")
        assert_seen(page, ".cta-row .button >> nth=0", f"At {size} 'Get started'")
        assert_seen(page, ".cta-row .button >> nth=1", f"At {size} 'Sign in'")


def test_on_a_short_screen_the_header_scrolls_away_with_the_page(page, sign_in):
    """The sticky header kept 65 of a sideways phone's 360 px over every page read (and more
    of it with the phone's keyboard open): scrolled down, the page has the whole screen."""
    sign_in(page, UserFactory())
    page.set_viewport_size({"width": 740, "height": 360})
    page.goto("/account/")
    expect(page.get_by_role("heading", name="Your account", exact=True)).to_be_visible()
    page.mouse.wheel(0, 300)
    page.wait_for_function("scrollY >= 300")
    header_at_top = page.evaluate(
        "Boolean(document.elementFromPoint(innerWidth / 2, 30)?.closest('.site-header'))"
    )
    assert not header_at_top, "the header still covers the top of the scrolled page"
    # The menu is one scroll away, and works.
    page.mouse.wheel(0, -1000)
    page.get_by_role("button", name="Menu").click()
    expect(page.get_by_role("link", name="History", exact=True)).to_be_visible()


def test_on_a_short_screen_the_ride_pages_menu_reaches_its_last_link(page, sign_in):
    """The ride page does not scroll: its open menu ran below a sideways phone's screen, the
    site's links (Unicorns ... Become a unicorn) out of reach of a finger or a wheel."""
    sign_in(page, UserFactory())
    page.set_viewport_size({"width": 740, "height": 360})
    open_ride_page(page)
    page.get_by_role("button", name="Menu").click()
    last = page.get_by_role("link", name="Become a unicorn")
    expect(last).to_be_visible()
    page.mouse.move(370, 250)
    page.mouse.wheel(0, 600)
    page.wait_for_timeout(300)  # the scroll
    assert_seen(page, "#site-nav >> text=Become a unicorn", "'Become a unicorn'")
