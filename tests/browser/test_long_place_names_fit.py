"""The longest place names (Chinatown-International District, West Seattle Junction) fit the
pages that show them, on a phone and a desktop: the receipt, the history and the ride card."""

import pytest
from playwright.sync_api import expect

from rides.models import Ride
from rides.places import PLACES
from tests.browser.support import BROWSER, DESKTOP, PHONE, screenshot
from tests.factories import RideFactory, UserFactory

pytestmark = BROWSER

LONGEST, SECOND = sorted(PLACES, key=lambda place: -len(place[0]))[:2]

OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"

# Each receipt label's text and the lines it is written on (distinct tops of its text boxes).
LABEL_LINES = """() => [...document.querySelectorAll(".receipt-lines dt")].map((dt) => {
  const walker = document.createTreeWalker(dt, NodeFilter.SHOW_TEXT);
  const tops = new Set();
  while (walker.nextNode()) {
    const range = document.createRange();
    range.selectNodeContents(walker.currentNode);
    for (const rect of range.getClientRects()) if (rect.width) tops.add(Math.round(rect.top));
  }
  return [dt.textContent.trim(), tops.size];
})"""

ROUND_DOTS = """() => [...document.querySelectorAll(".receipt-lines .dot")].map((dot) => {
  const { width, height } = dot.getBoundingClientRect();
  return width > 8 && Math.abs(width - height) < 1;
})"""


def trip(**extra):
    return {
        "pickup_latitude": LONGEST[1],
        "pickup_longitude": LONGEST[2],
        "dropoff_latitude": SECOND[1],
        "dropoff_longitude": SECOND[2],
        **extra,
    }


@pytest.mark.parametrize("size, viewport", [("phone", PHONE), ("desktop", DESKTOP)])
def test_the_longest_places_fit_the_receipt_history_and_ride_card(
    new_page, sign_in, size, viewport
):
    rider = UserFactory()
    done = RideFactory(rider=rider, status=Ride.Status.COMPLETED, **trip())
    page = new_page(viewport)
    sign_in(page, rider)

    page.goto(f"/history/{done.id}/")
    expect(page.locator(".receipt-lines").first).to_contain_text(LONGEST[0])
    expect(page.locator(".receipt-lines").first).to_contain_text(SECOND[0])
    assert page.evaluate(OVERFLOW) <= 0
    # The long name beside it does not break a label mid-word ("Pick / up", "Drop- / off").
    lines = dict(page.evaluate(LABEL_LINES))
    assert (lines["Pickup"], lines["Drop-off"]) == (1, 1)
    assert page.evaluate(ROUND_DOTS) == [True, True]  # nor squeezes their dots to slivers
    screenshot(page, f"long-places-receipt-{size}")

    page.goto("/history/")
    expect(page.get_by_text(f"{LONGEST[0]} → {SECOND[0]}")).to_be_visible()
    assert page.evaluate(OVERFLOW) <= 0
    screenshot(page, f"long-places-history-{size}")

    RideFactory(rider=rider, **trip())  # under way
    page.goto("/ride/")
    card = page.locator("[data-ride-card]")
    expect(card).to_contain_text(f"{LONGEST[0]} → {SECOND[0]}")
    assert page.evaluate(OVERFLOW) <= 0
    screenshot(page, f"long-places-ride-card-{size}")
