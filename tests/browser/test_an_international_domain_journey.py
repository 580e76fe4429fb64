"""A rider whose e-mail domain is in another script (Anna@Bücher.example) signs up, opens
the e-mailed link, presses Confirm, signs in, asks for a reset link with another spelling of
the address (anna@BÜCHER.example), opens it, sets a new password and signs in with it, on a
phone, the mail going out as on AWS (django-ses to SES, tests/ses_on_aws.py).

Before, SES refused every one of those e-mails (it takes ASCII addresses only and was given
anna@bücher.example): the page said "we could not send the e-mail with your code" and no
link ever came. The pages, the e-mail's text and the link's page say the address as the
rider reads it, anna@bücher.example; the mail service gets anna@xn--bcher-kva.example.
"""

import re

import pytest
from django.test import Client
from playwright.sync_api import expect

from accounts.models import User
from tests.browser.support import BROWSER, DESKTOP, PHONE, screenshot
from tests.ses_on_aws import ses_on_aws

pytestmark = BROWSER

FIRST_PASSWORD = "moonlit-meadow-canter-31"
NEW_PASSWORD = "starlit-valley-gallop-47"
READABLE = "anna@bücher.example"
ASCII = "anna@xn--bcher-kva.example"


@pytest.fixture
def sent(settings, monkeypatch, live_server):
    settings.SITE_URL = live_server.url
    settings.ACCOUNT_ANSWER_FLOOR_SECONDS = 0
    with ses_on_aws(settings, monkeypatch) as sent:
        yield sent


def _emailed_link(sent, count: int, page: str) -> str:
    messages = sent()
    assert len(messages) == count, messages
    destinations, message = messages[-1]
    assert destinations[0] == ASCII
    assert message["To"] == ASCII
    text = message.get_content()
    assert f", {READABLE}" in text, text
    return re.search(rf"http://\S+/{page}/#\S+", text).group(0)


def test_a_rider_with_an_international_domain_confirms_and_resets_with_the_links(new_page, sent):
    page = new_page(viewport=PHONE)
    page.goto("/register/")
    page.get_by_label("E-mail").fill("Anna@Bücher.example")
    page.get_by_label("Password", exact=True).fill(FIRST_PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("[data-form-status]")).to_have_text(
        f"We e-mailed a 6-digit code to {READABLE}."
    )
    link = _emailed_link(sent, 1, "verify")

    desktop = new_page(viewport=DESKTOP)  # opening it confirms nothing
    desktop.goto(link)
    expect(desktop.locator("[data-link-lede]")).to_have_text(
        f"You opened the link from your e-mail. Press Confirm to confirm {READABLE}."
    )
    screenshot(desktop, "international-domain-signup-link-desktop")
    page.goto(link)
    expect(page.locator("[data-link-lede]")).to_have_text(
        f"You opened the link from your e-mail. Press Confirm to confirm {READABLE}."
    )
    expect(page.get_by_label("E-mail", exact=True)).to_be_hidden()
    screenshot(page, "international-domain-signup-link-phone")
    page.get_by_role("button", name="Confirm", exact=True).click()
    expect(page.locator("[data-form-status]")).to_have_text(
        "Your e-mail is confirmed. Sign in to ride."
    )
    page.get_by_label("Password", exact=True).fill(FIRST_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/ride/"))

    asker = new_page(viewport=PHONE)
    asker.goto("/reset-password/")
    ask = asker.locator("[data-reset-request-form]")
    ask.get_by_label("E-mail").fill("anna@BÜCHER.example")
    ask.get_by_role("button", name="E-mail me a code").click()
    expect(ask.locator("[data-form-status]")).to_contain_text("we sent it a 6-digit code")
    link = _emailed_link(sent, 2, "reset-password")

    desktop.goto(link)
    expect(desktop.locator("[data-link-lede]")).to_have_text(
        f"You opened the link from your e-mail. Choose a new password for {READABLE}."
    )
    screenshot(desktop, "international-domain-reset-link-desktop")
    page = new_page(viewport=PHONE)
    page.goto(link)
    form = page.locator("[data-reset-confirm-form]")
    expect(page.locator("[data-link-lede]")).to_have_text(
        f"You opened the link from your e-mail. Choose a new password for {READABLE}."
    )
    expect(form.get_by_label("E-mail", exact=True)).to_be_hidden()
    screenshot(page, "international-domain-reset-link-phone")
    form.get_by_label("New password").fill(NEW_PASSWORD)
    form.get_by_role("button", name="Set the new password").click()
    status = form.locator("[data-form-status]")
    expect(status).to_have_text("Your password is changed. Sign in with the new one. Sign in")
    status.get_by_role("link", name="Sign in").click()
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/ride/"))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    assert list(User.objects.values_list("email", flat=True)) == [READABLE]
    for spelling in (READABLE, ASCII, "Anna@BÜCHER.EXAMPLE"):
        assert Client().login(email=spelling, password=NEW_PASSWORD), spelling
