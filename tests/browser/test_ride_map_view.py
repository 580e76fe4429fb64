"""What the ride page's map shows while the rider plans a trip: a pickup alone at street
level with the free unicorns around it in view; a pickup and a drop-off, both fitted."""

import re
import time

import pytest
from django.conf import settings
from playwright.sync_api import expect

from tests.browser.support import (
    BROWSER,
    DESKTOP,
    PHONE,
    open_ride_page,
    screenshot,
    set_pickup_at_the_centre,
)
from tests.factories import UnicornFactory, UserFactory

pytestmark = BROWSER

LAT, LNG = settings.CITY_CENTER
# Streets and their names can be read (OpenStreetMap's zoom levels 15 to 17); the page opens
# on the city (14).
STREET_LEVEL = re.compile(r"^1[5-7]$")
METRES_PER_DEGREE = 111_000


def in_the_maps_view(page, selector) -> int:
    """How many of `selector` lie wholly inside the map a rider sees: between its edges and,
    on a phone, above the sheet that lies over the map's bottom."""
    box = page.locator("#ride-map").bounding_box()
    bottom = box["y"] + box["height"]
    sheet = page.locator(".ride-sheet").bounding_box()
    if sheet["y"] > box["y"]:  # a phone's sheet, under the map (beside it on a desktop)
        bottom = min(bottom, sheet["y"])
    seen = 0
    for mark in page.locator(selector).all():
        mark = mark.bounding_box()
        seen += bool(
            mark
            and box["x"] <= mark["x"]
            and mark["x"] + mark["width"] <= box["x"] + box["width"]
            and box["y"] <= mark["y"]
            and mark["y"] + mark["height"] <= bottom
        )
    return seen


def settles_with_in_view(page, selector, expected: int, seconds: float = 5.0) -> int:
    """How many of `selector` are in the map's view once it shows `expected` of them, or when
    `seconds` have passed: the page frames the plan when the nearby unicorns come back,
    which can be after the fare shows."""
    deadline = time.monotonic() + seconds
    while (seen := in_the_maps_view(page, selector)) != expected and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    return seen


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_pickup_alone_is_shown_at_street_level_with_the_unicorns_around_and_a_trip_fitted(
    new_page, sign_in, viewport
):
    # Two free unicorns near the pickup (300 m north, 350 m west), one far off (4 km east).
    UnicornFactory(name="Shadowfax", latitude=LAT + 300 / METRES_PER_DEGREE, longitude=LNG)
    UnicornFactory(name="Moonbeam", latitude=LAT, longitude=LNG - 0.0047)
    UnicornFactory(name="Faraway", latitude=LAT, longitude=LNG + 0.054)
    page = new_page(viewport)
    size = "phone" if viewport is PHONE else "desktop"
    sign_in(page, UserFactory())
    open_ride_page(page)
    ride_map = page.locator("#ride-map")
    expect(ride_map).to_have_attribute("data-map-zoom", "14")

    set_pickup_at_the_centre(page)
    # Street level, not the city the page opened on, nor a single point's closest zoom.
    expect(ride_map).to_have_attribute("data-map-zoom", STREET_LEVEL)
    expect(page.locator(".wr-marker-nearby")).to_have_count(3)
    assert settles_with_in_view(page, ".wr-marker-pickup", 1) == 1
    # The two unicorns nearby in view; the one 4 km away is not (that would be the city).
    assert settles_with_in_view(page, ".wr-marker-nearby", 2) == 2
    screenshot(page, f"ride-map-pickup-at-street-level-{size}")

    # The rider drags the map to find the destination (the pickup leaves the view) and taps it:
    # the whole trip is fitted in view.
    box = ride_map.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + 100
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - box["width"] * 0.8, y, steps=8)
    page.wait_for_timeout(150)  # held still before letting go: no fling (Leaflet's inertia)
    page.mouse.up()
    assert in_the_maps_view(page, ".wr-marker-pickup") == 0
    page.mouse.click(x, y + 40)
    expect(page.locator("[data-estimate-detail]")).to_contain_text("km trip")
    assert settles_with_in_view(page, ".wr-marker-pickup, .wr-marker-dropoff", 2) == 2
    screenshot(page, f"ride-map-trip-fitted-{size}")

    # Without the drop-off: the pickup at street level again, the unicorns around it.
    page.get_by_role("button", name="Remove").click()
    expect(ride_map).to_have_attribute("data-map-zoom", STREET_LEVEL)
    assert settles_with_in_view(page, ".wr-marker-pickup", 1) == 1
    assert settles_with_in_view(page, ".wr-marker-nearby", 2) == 2


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_coming_unicorns_name_is_not_cut_off_by_the_maps_edge(new_page, sign_in, viewport):
    """The unicorn's disc and name stand to the right of its place: fitted with the same room
    on every side, a unicorn east of the pickup had its name cut off at the map's right edge."""
    UnicornFactory(
        name="Shadowfax", color="white", gender="male", latitude=LAT, longitude=LNG + 0.03
    )
    page = new_page(viewport)
    sign_in(page, UserFactory())
    open_ride_page(page)
    set_pickup_at_the_centre(page)
    page.get_by_role("button", name="Request a unicorn").click()
    expect(page.locator(".wr-unicorn-label")).to_have_text("Shadowfax")
    assert in_the_maps_view(page, ".wr-unicorn-label") == 1
    assert in_the_maps_view(page, ".wr-unicorn-disc, .wr-marker-pickup") == 2
