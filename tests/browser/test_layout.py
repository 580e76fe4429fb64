"""How the rider pages are laid out, as a person looking at them sees it: the form pages share
one layout (on a desktop the page's header on the left and its cards in one column on the
right, as /signin/'s one card; on a phone one column), the header's links fit beside the
brand, nothing runs off a phone's screen, and on a phone every control a finger has to hit is
at least 44 px high."""

import itertools
import re

import pytest
from playwright.sync_api import expect

from notifications.models import Notification
from tests.browser.support import (
    BROWSER,
    DESKTOP,
    PHONE,
    open_ride_page,
    screenshot,
    serve_blank_tiles,
    set_pickup_at_the_centre,
    tap_the_map,
)
from tests.factories import RideFactory, UnicornFactory, UserFactory

pytestmark = BROWSER

# name: (path, whether the page is for a signed-in rider)
FORM_PAGES = {
    "signin": ("/signin/", False),
    "register": ("/register/", False),
    "verify": ("/verify/", False),
    "reset-password": ("/reset-password/", False),
    "account": ("/account/", True),
}

BOXES = """() => {
  const box = (node) => {
    const { left, right, top, bottom } = node.getBoundingClientRect();
    return { left, right, top, bottom };
  };
  const layout = document.querySelector("main .form-layout");
  return {
    header: box(layout.querySelector(".page-header")),
    headerFirstLine: box(layout.querySelector(".page-header > :first-child")),
    cards: [...layout.querySelectorAll(".card")].map(box),
    overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
  };
}"""

# Every control a finger hits, lower than 44 px. A link inside a sentence is text, not a
# control; a history row is the target (it opens its ride), not the reference link in it.
SMALL_TARGETS = """() => {
  const small = [];
  for (const node of document.querySelectorAll("a[href], button, input, select, textarea")) {
    const exempt = ".skip-link, .leaflet-control-attribution, .rides-table";
    if (!node.checkVisibility() || node.closest(exempt)) continue;
    const box = node.getBoundingClientRect();
    if (!box.width) continue;
    const text = (node.textContent || node.name || node.type).trim();
    const inSentence = getComputedStyle(node).display === "inline"
      && node.parentElement.textContent.trim() !== node.textContent.trim();
    const height = Math.round(box.height);
    if (!inSentence && box.height < 44) small.push(`${node.tagName} "${text}": ${height} px`);
  }
  for (const row of document.querySelectorAll(".rides-table tbody tr")) {
    const height = row.getBoundingClientRect().height;
    if (height < 44) small.push(`ride row ${row.textContent.slice(0, 20)}`);
  }
  return small;
}"""


def open_form_page(page, path):
    page.goto(path)
    page.wait_for_load_state("domcontentloaded")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    return page.evaluate(BOXES)


def test_the_form_pages_share_one_layout_on_a_desktop(new_page, sign_in):
    """/reset-password/'s second card sat in the left column under the header, leaving the
    right column empty below its first card; /account/'s three cards were in a 2 x 2 grid."""
    visitor, rider = new_page(DESKTOP), new_page(DESKTOP)
    sign_in(rider, UserFactory())
    reference = open_form_page(visitor, "/signin/")["cards"][0]

    for name, (path, signed_in) in FORM_PAGES.items():
        page = rider if signed_in else visitor
        boxes = open_form_page(page, path)
        header, cards = boxes["header"], boxes["cards"]
        assert cards, name
        for card in cards:
            # In the form column, as wide as /signin/'s card, right of the header.
            assert card["left"] == pytest.approx(reference["left"], abs=1), (name, card)
            assert card["right"] == pytest.approx(reference["right"], abs=1), (name, card)
            assert card["left"] >= header["right"], (name, card, header)
        # The form column starts level with the header's first line (it started 2rem above).
        assert cards[0]["top"] == pytest.approx(boxes["headerFirstLine"]["top"], abs=2), name
        for above, below in itertools.pairwise(cards):
            assert above["bottom"] < below["top"], (name, above, below)  # one under the other
        assert boxes["overflow"] == 0, name
        screenshot(page, f"layout-{name}-desktop")


def test_the_form_pages_are_one_column_on_a_phone(new_page, sign_in):
    visitor, rider = new_page(PHONE), new_page(PHONE)
    sign_in(rider, UserFactory())
    for name, (path, signed_in) in FORM_PAGES.items():
        page = rider if signed_in else visitor
        boxes = open_form_page(page, path)
        header, cards = boxes["header"], boxes["cards"]
        assert boxes["overflow"] == 0, name  # nothing off the side of the screen
        for card in cards:
            assert card["left"] == pytest.approx(header["left"], abs=1), (name, card)
            assert card["top"] >= header["bottom"], (name, card)
        assert page.evaluate(SMALL_TARGETS) == [], name
        screenshot(page, f"layout-{name}-phone")


def test_a_signed_in_riders_header_links_fit_beside_the_brand(new_page, sign_in):
    """Signed in, the header holds the brand, four site links and five of the account's: at
    1,280 px the links ran 18 px past the page's edge and squeezed the brand, whose name ran
    into "Unicorns". One page, resized: the header follows its media queries."""
    page = new_page(DESKTOP)
    sign_in(page, UserFactory())
    page.goto("/history/")
    for width in (1280, 1200, 1440):
        page.set_viewport_size({"width": width, "height": 800})
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        fit = page.evaluate(
            """() => {
              const box = (selector) => document.querySelector(selector).getBoundingClientRect();
              const row = box(".header-row"), brand = box(".brand"), name = box(".brand span");
              const lists = [...document.querySelectorAll(".nav-list")]
                .map((list) => list.getBoundingClientRect());
              return {
                nameInsideBrand: name.right <= brand.right + 0.5,
                gapAfterBrand: lists[0].left - brand.right,
                gapBetweenLists: lists[1].left - lists[0].right,
                pastTheEdge: lists[1].right - row.right,
              };
            }"""
        )
        assert fit["nameInsideBrand"], (width, fit)
        assert fit["gapAfterBrand"] >= 12, (width, fit)
        assert fit["gapBetweenLists"] >= 12, (width, fit)
        assert fit["pastTheEdge"] <= 0.5, (width, fit)


def test_on_a_phone_every_control_is_a_fingers_height(new_page, sign_in):
    rider = UserFactory()
    ride = RideFactory(
        rider=rider, status="completed", dropoff_latitude=47.6162, dropoff_longitude=-122.3421
    )
    Notification.objects.create(user=rider, message="Your receipt is ready.", ride_id=ride.id)
    page = new_page(PHONE)
    sign_in(page, rider)
    small = {}

    open_ride_page(page)
    set_pickup_at_the_centre(page)
    tap_the_map(page, right=80, up=60)
    expect(page.get_by_role("button", name="Remove")).to_be_visible()
    small["ride"] = page.evaluate(SMALL_TARGETS)
    page.get_by_role("button", name="Menu").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    small["menu"] = page.evaluate(SMALL_TARGETS)

    for name, path, ready in (
        ("history", "/history/", "[data-rides-body] tr"),
        ("receipt", f"/history/{ride.id}/", "#receipt-map .wr-marker-dropoff"),
        ("notifications", "/notifications/", "[data-notification-id]"),
    ):
        page.goto(path)
        expect(page.locator(ready).first).to_be_visible()
        small[name] = page.evaluate(SMALL_TARGETS)
        screenshot(page, f"layout-{name}-phone")
    assert not any(small.values()), small


ONE_LINE_EACH = """(nodes) => nodes.map((node) => {
  const lineHeight = parseFloat(getComputedStyle(node).lineHeight);
  return node.getBoundingClientRect().height < 1.5 * lineHeight;
})"""

# For each "latitude, longitude" in a history row's route: whether it is on one line.
PLACES_ON_ONE_LINE = """(node) => {
  const text = node.firstChild, places = [...text.data.matchAll(/-?[0-9.]+,\\s-?[0-9.]+/g)];
  return places.map((place) => {
    const range = document.createRange();
    range.setStart(text, place.index);
    range.setEnd(text, place.index + place[0].length);
    return new Set([...range.getClientRects()].map((rect) => Math.round(rect.top))).size === 1;
  });
}"""


def test_places_and_labels_never_break_inside_a_word_or_a_place(new_page, sign_in):
    """On a phone a history row's route broke between a place's two numbers ('47.608,' /
    '-122.327'); on a desktop the ride page's 'Drop-off' broke into 'Drop-' / 'off' once the
    drop-off and its Remove button filled the line."""
    rider = UserFactory()
    RideFactory(  # on the Sound, far from every named place: the route in coordinates
        rider=rider,
        status="completed",
        pickup_latitude=47.6000,
        pickup_longitude=-122.4600,
        dropoff_latitude=47.6200,
        dropoff_longitude=-122.4700,
    )
    phone = new_page(PHONE)
    sign_in(phone, rider)
    phone.goto("/history/")
    route = phone.locator("[data-rides-body] td[data-label='Trip'] .ride-sub").first
    expect(route).to_contain_text("→")
    assert route.evaluate(PLACES_ON_ONE_LINE) == [True, True]

    desktop = new_page(DESKTOP)
    sign_in(desktop, UserFactory())
    open_ride_page(desktop)
    set_pickup_at_the_centre(desktop)
    tap_the_map(desktop, right=120, up=80)
    expect(desktop.get_by_role("button", name="Remove")).to_be_visible()
    labels = desktop.locator(".trip dt")
    assert labels.evaluate_all(ONE_LINE_EACH) == [True, True]


def test_a_field_focused_after_a_refused_submit_is_not_under_the_header(page):
    """On a phone the form scrolls to its first wrong field: it stopped with that field and its
    label under the sticky header."""
    page.set_viewport_size(PHONE)
    page.goto("/register/")
    page.wait_for_load_state("domcontentloaded")
    page.get_by_label("E-mail").fill("not-an-email")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_label("E-mail")).to_be_focused()
    page.wait_for_timeout(300)  # the scroll to it
    header = page.locator(".site-header").bounding_box()
    label = page.locator("label[for='f-email']").bounding_box()
    assert label["y"] >= header["y"] + header["height"], (label, header)


def test_the_longest_names_stay_on_a_phones_screen(new_page, sign_in):
    """A unicorn's name (80 characters) or a campaign's (80) written without a space, as an
    applicant or an operator may type it: the notifications, the receipt and the fleet page
    ran 1,000 px and more off a phone's screen with it (the ride page and history wrapped)."""
    long_name = "W" * 80
    rider = UserFactory()
    unicorn = UnicornFactory(name=long_name, color="X" * 40, is_available=False)
    ride = RideFactory(
        rider=rider, unicorn=unicorn, status="completed", fare_minor=1125,
        discount_multiplier="0.90", discount_label=f"{'M' * 80}: 10% off",
        dropoff_latitude=47.6162, dropoff_longitude=-122.3421,
    )  # fmt: skip
    Notification.objects.create(
        user=rider, ride_id=ride.id, message=f"Receipt for {ride.reference}: you paid $11.25 "
        f"({'M' * 80}: 10% off, was $12.50) for your ride with {long_name}.",
    )  # fmt: skip
    page = new_page(PHONE)
    sign_in(page, rider)
    off_screen = {}
    for name, path, ready in (
        ("notifications", "/notifications/", "[data-notification-id]"),
        ("receipt", f"/history/{ride.id}/", "#receipt-map .wr-marker-dropoff"),
        ("fleet", "/unicorns/", ".unicorn-name"),
    ):
        page.goto(path)
        expect(page.locator(ready).first).to_be_visible()
        off_screen[name] = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        screenshot(page, f"layout-long-names-{name}-phone")
    assert off_screen == {"notifications": 0, "receipt": 0, "fleet": 0}


def test_on_a_touch_screen_a_tapped_button_does_not_stay_in_its_hover_colour(
    browser, live_server, sign_in
):
    """After a tap a phone leaves :hover on what was tapped: "Cancel ride" and "Request
    another unicorn" stayed pink. Hover styles apply only where something hovers."""
    context = browser.new_context(
        viewport=PHONE, has_touch=True, is_mobile=True, base_url=live_server.url
    )
    try:
        serve_blank_tiles(context)
        page = context.new_page()
        sign_in(page, UserFactory())
        page.goto("/history/")
        assert page.evaluate("matchMedia('(hover: none)').matches")
        page.get_by_role("button", name="Menu").tap()
        buttons = {
            "button": page.get_by_role("link", name="Request a unicorn").first,
            "ghost button": page.get_by_role("button", name="Sign out"),
        }
        for name, button in buttons.items():
            expect(button).to_be_visible()
            resting = button.evaluate("(node) => getComputedStyle(node).backgroundColor")
            button.hover()  # where a tap leaves the pointer
            hovered = button.evaluate("(node) => getComputedStyle(node).backgroundColor")
            assert hovered == resting, name
    finally:
        context.close()


def test_the_phone_menu_says_close_while_open_and_lists_the_riders_links_first(new_page, sign_in):
    """The button said "Menu" while the menu was open, and the rider's own links came after
    Unicorns, Investors, FAQ and Become a unicorn."""
    page = new_page(PHONE)
    sign_in(page, UserFactory())
    page.goto("/history/")
    toggle = page.locator(".nav-toggle")
    expect(toggle).to_have_accessible_name("Menu")
    expect(toggle).to_have_attribute("aria-expanded", "false")

    toggle.click()
    expect(toggle).to_have_accessible_name("Close")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    nav = page.get_by_role("navigation", name="Main")
    tops = {
        name: nav.get_by_role("link", name=name, exact=True).bounding_box()["y"]
        for name in ("Ride", "History", "Notifications", "Account", "Unicorns", "FAQ")
    }
    screenshot(page, "layout-menu-open-phone")
    riders = [tops[name] for name in ("Ride", "History", "Notifications", "Account")]
    assert riders == sorted(riders), tops
    assert max(riders) < min(tops["Unicorns"], tops["FAQ"]), tops

    toggle.click()
    expect(toggle).to_have_accessible_name("Menu")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(nav.get_by_role("link", name="Ride", exact=True)).to_be_hidden()
    toggle.click()
    page.keyboard.press("Escape")
    expect(toggle).to_have_accessible_name("Menu")


# Where a finger lands in each history card (fractions of its box): whether it is on its link.
CARD_HITS_ITS_LINK = """(row) => {
  const box = row.getBoundingClientRect(), link = row.querySelector(".ride-link");
  const points = [[0.5, 0.5], [0.9, 0.85], [0.1, 0.9], [0.75, 0.15]];
  return {
    height: box.height,
    hits: points.map(([x, y]) => {
      const node = document.elementFromPoint(box.left + x * box.width, box.top + y * box.height);
      return node?.closest("a") === link;
    }),
  };
}"""


def test_on_a_phone_a_whole_history_card_is_its_rides_link(new_page, sign_in):
    """Only the small reference was a link: a tap elsewhere in the card went through a click
    handler, and a long press or a middle click there found no link to open."""
    rider = UserFactory()
    ride = RideFactory(rider=rider, status="completed")
    page = new_page(PHONE)
    sign_in(page, rider)
    page.goto("/history/")
    row = page.locator(f'[data-ride-id="{ride.id}"]')
    link = row.get_by_role("link", name=ride.reference)  # still one accessible link
    expect(link).to_be_visible()

    card = row.evaluate(CARD_HITS_ITS_LINK)
    assert card["height"] >= 44, card
    assert all(card["hits"]), card
    screenshot(page, "layout-history-cards-phone")
    page.mouse.click(*corner(row.bounding_box()))
    expect(page).to_have_url(re.compile(rf"/history/{ride.id}/$"))


def corner(box):
    """Near a box's bottom-right corner, away from any text."""
    return box["x"] + box["width"] - 6, box["y"] + box["height"] - 6
