"""The sign-up e-mail's link confirms the address only when the person who opened it
presses Confirm. Mail scanners open every link in a message and run the page's scripts;
had the page confirmed by itself, an address someone else signed up with would be
confirmed without its owner ever seeing the e-mail."""

import re

from django.test import Client
from playwright.sync_api import expect

from accounts.models import User
from tests.browser.support import BROWSER, DESKTOP, PHONE, screenshot

pytestmark = BROWSER

LINK = re.compile(r"http://\S+/verify/#\S+")


def test_the_link_confirms_when_confirm_is_pressed_and_not_by_opening_it(
    new_page, live_server, mailoutbox, settings
):
    settings.SITE_URL = live_server.url
    body = {"email": "new.rider@example.com", "password": "moonlit-meadow-canter-31"}
    assert (
        Client().post("/api/auth/register/", body, content_type="application/json").status_code
        == 201
    )
    link = LINK.search(mailoutbox[-1].body).group(0)

    scanner = new_page(viewport=DESKTOP)  # opens the link, runs the scripts, clicks nothing
    scanner.goto(link)
    scanner.wait_for_load_state("networkidle")
    scanner.wait_for_timeout(500)
    assert User.objects.get(email="new.rider@example.com").email_confirmed_at is None

    page = new_page(viewport=PHONE)
    page.goto(link)
    expect(page.locator("[data-link-lede]")).to_have_text(
        "You opened the link from your e-mail. Press Confirm to confirm new.rider@example.com."
    )
    expect(page.get_by_label("Confirmation code")).to_be_hidden()
    expect(page.get_by_label("E-mail", exact=True)).to_be_hidden()
    assert "token" not in page.url
    screenshot(page, "signup-link-phone")
    page.get_by_role("button", name="Confirm", exact=True).click()
    expect(page).to_have_url(re.compile(r"/signin/\?.*confirmed=1"))
    assert User.objects.get(email="new.rider@example.com").email_confirmed_at is not None
