"""A rider whose reset codes someone locked (5 wrong codes typed for the address) opens the
e-mailed link and sets a new password, on a phone and on a desktop. The link's secret rides
in the URL's fragment: no request the page makes carries it, in its URL or its Referer, and
the address bar drops it at once. A used link is refused with a sentence and the page
offers a new e-mail."""

import re

from django.test import Client
from playwright.sync_api import expect

from tests.browser.support import BROWSER, DESKTOP, PHONE, screenshot
from tests.factories import PASSWORD, UserFactory

pytestmark = BROWSER

LINK = re.compile(r"http://\S+/reset-password/#\S+")


def api(path: str, body: dict) -> int:
    return Client().post(path, body, content_type="application/json").status_code


def test_a_locked_out_rider_sets_a_new_password_with_the_emailed_link(
    new_page, live_server, mailoutbox, settings
):
    settings.SITE_URL = live_server.url
    settings.ACCOUNT_ANSWER_FLOOR_SECONDS = 0
    UserFactory(email="locked@example.com")
    for n in range(5):  # someone who knows the address spends its code tries
        body = {"email": "locked@example.com", "code": f"{n:06d}", "new_password": "x" * 12}
        api("/api/auth/password/reset/confirm/", body)

    for size, viewport, password in (
        ("phone", PHONE, "moonlit-meadow-canter-31"),
        ("desktop", DESKTOP, "starlit-valley-gallop-47"),
    ):
        assert api("/api/auth/password/reset/", {"email": "locked@example.com"}) == 202
        link = LINK.search(mailoutbox[-1].body).group(0)
        token = re.search(r"token=([\w-]+)", link).group(1)
        page = new_page(viewport=viewport)
        sent = []
        page.on("request", lambda request, sent=sent: sent.append(request))

        page.goto(link)

        form = page.locator("[data-reset-confirm-form]")
        expect(page.locator("[data-link-lede]")).to_have_text(
            "You opened the link from your e-mail. Choose a new password for locked@example.com."
        )
        expect(form.get_by_label("E-mail", exact=True)).to_have_value("locked@example.com")
        expect(form.get_by_label("Reset code")).to_be_hidden()
        expect(page.locator("[data-reset-request-form]")).to_be_hidden()
        assert "token" not in page.url
        screenshot(page, f"recovery-link-{size}-before")
        form.get_by_label("New password").fill(password)
        form.get_by_role("button", name="Set the new password").click()

        expect(form.locator("[data-form-status]")).to_have_text(
            "Your password is changed. Sign in with the new one. Sign in"
        )
        screenshot(page, f"recovery-link-{size}-after")
        assert Client().login(email="locked@example.com", password=password)
        assert not Client().login(email="locked@example.com", password=PASSWORD)
        carried = [
            r.url for r in sent if token in r.url or token in (r.headers.get("referer") or "")
        ]
        assert sent and not carried

    # The desktop's link again, now used: said, changes nothing, and a new e-mail is offered.
    page = new_page(viewport=DESKTOP)
    page.goto(link)
    form = page.locator("[data-reset-confirm-form]")
    form.get_by_label("New password").fill("someone-elses-pick-12")
    form.get_by_role("button", name="Set the new password").click()
    expect(form.locator("[data-form-status]")).to_have_text(
        "This link no longer works: it was already used, it has expired, or a newer e-mail "
        "replaced it. Ask for a new e-mail."
    )
    expect(page.get_by_role("button", name="E-mail me a code")).to_be_visible()
    expect(form.get_by_label("Reset code")).to_be_visible()
    screenshot(page, "recovery-link-desktop-used")
    assert Client().login(email="locked@example.com", password=password)


def test_a_link_opened_in_a_tab_already_on_the_page_is_read(
    new_page, live_server, mailoutbox, settings
):
    """Pasted into the tab that shows the reset page, the link changes only the fragment (no
    new page load): the page still reads it."""
    settings.SITE_URL = live_server.url
    settings.ACCOUNT_ANSWER_FLOOR_SECONDS = 0
    UserFactory(email="pasted@example.com")
    assert api("/api/auth/password/reset/", {"email": "pasted@example.com"}) == 202
    link = LINK.search(mailoutbox[-1].body).group(0)
    page = new_page(viewport=PHONE)
    page.goto(f"{live_server.url}/reset-password/")
    expect(page.locator("[data-reset-request-form]")).to_be_visible()

    page.goto(link)

    expect(page.locator("[data-link-lede]")).to_have_text(
        "You opened the link from your e-mail. Choose a new password for pasted@example.com."
    )
    assert "token" not in page.url
