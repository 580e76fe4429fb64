"""The sign-up link's page (/verify/#email=...&token=...) opened with a fragment no e-mail
of ours holds (an edited or mangled link): script in the address, a very long address, a
token with no address. The address is written as text and kept inside the screen; a link
with no usable address asks for one, the field in sight (never "check the highlighted
fields" with nothing to see and only Confirm to press); a screen reader landing on Confirm
hears what pressing it does; a refused link brings the code and the new-code button back."""

from urllib.parse import quote

from playwright.sync_api import expect

from tests.browser.support import BROWSER, DESKTOP, PHONE, screenshot

pytestmark = BROWSER

SCRIPT = '<img src=x onerror="window.pwned=1">@x.com'
LONG = "a" * 300 + "@example.com"


def _open(new_page, viewport, fragment):
    page = new_page(viewport=viewport)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"/verify/#{fragment}")
    confirm = page.get_by_role("button", name="Confirm", exact=True)
    expect(confirm).to_be_enabled()
    expect(confirm).to_be_focused()
    return page, errors


def _fits(page, viewport):
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    said = " ".join(page.locator("[data-link-lede]").inner_text().split())
    assert "confirm ." not in said, said


def test_a_link_whose_address_the_form_refuses_asks_for_the_address_in_sight(new_page):
    page, errors = _open(new_page, PHONE, f"email={quote(SCRIPT)}&token=abc")
    expect(page.get_by_role("button", name="Confirm", exact=True)).to_have_accessible_description(
        "You opened the link from your e-mail. Enter your e-mail address and press Confirm."
    )
    email = page.get_by_label("E-mail", exact=True)
    expect(email).to_be_visible()
    expect(email).to_have_value(SCRIPT)  # as text: nothing ran
    assert page.evaluate("window.pwned") is None
    _fits(page, PHONE)
    page.get_by_role("button", name="Confirm", exact=True).click()
    expect(page.locator("#f-email-error")).to_have_text(
        "Enter an e-mail address like name@example.com."
    )
    expect(email).to_be_visible()
    screenshot(page, "signup-link-bad-address-phone")
    assert not errors, errors


def test_a_token_without_an_address_asks_for_it(new_page):
    for viewport in (PHONE, DESKTOP):
        for fragment in ("token=abc", "email=&token=abc"):
            page, errors = _open(new_page, viewport, fragment)
            expect(
                page.get_by_role("button", name="Confirm", exact=True)
            ).to_have_accessible_description(
                "You opened the link from your e-mail. Enter your e-mail address and press Confirm."
            )
            expect(page.get_by_label("E-mail", exact=True)).to_be_visible()
            _fits(page, viewport)
            assert not errors, errors


def test_a_very_long_address_stays_inside_the_screen(new_page):
    for viewport in (PHONE, DESKTOP):
        page, errors = _open(new_page, viewport, f"email={quote(LONG)}&token=abc")
        expect(page.locator("[data-link-email]")).to_have_text(LONG)
        _fits(page, viewport)
        assert not errors, errors
    screenshot(page, "signup-link-long-address-desktop")


def test_confirm_is_described_by_the_lede_and_a_refused_link_brings_the_code_back(new_page):
    page, errors = _open(new_page, PHONE, "email=rider%40example.com&token=not-ours")
    confirm = page.get_by_role("button", name="Confirm", exact=True)
    expect(confirm).to_have_accessible_description(
        "You opened the link from your e-mail. Press Confirm to confirm rider@example.com."
    )
    confirm.click()
    expect(page.get_by_label("Confirmation code")).to_be_visible()
    expect(page.get_by_role("button", name="Send a new code")).to_be_visible()
    expect(page.locator("[data-code-lede]")).to_be_visible()
    expect(confirm).not_to_have_attribute("aria-describedby", "link-lede")
    screenshot(page, "signup-link-refused-phone")
    assert not errors, errors
