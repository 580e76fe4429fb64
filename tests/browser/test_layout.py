"""How the rider pages are laid out, as a person looking at them sees it: the form pages share
one layout (on a desktop the page's header on the left and its cards in one column on the
right, as /signin/'s one card; on a phone one column), and nothing runs off a phone's screen."""

import itertools

import pytest
from playwright.sync_api import expect

from tests.browser.support import BROWSER, DESKTOP, PHONE, screenshot
from tests.factories import UserFactory

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
    cards: [...layout.querySelectorAll(".card")].map(box),
    overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
  };
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
        screenshot(page, f"layout-{name}-phone")
