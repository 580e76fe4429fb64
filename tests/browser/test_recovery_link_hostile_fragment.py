"""A link whose fragment was written by someone else (a phishing mail, a chat message):
whatever `email` and `token` hold, the reset and confirmation pages show them as text, run
nothing, send nothing until the person presses the button, and say a cut link plainly."""

from urllib.parse import quote

from playwright.sync_api import expect

from tests.browser.support import BROWSER, PHONE, screenshot

pytestmark = BROWSER

HOSTILE = "<img src=x onerror=alert(1)>"
FRAGMENTS = (
    f"email={quote(HOSTILE)}&token=x",
    "email=<svg/onload=alert(2)>&token=<img src=x onerror=alert(3)>",
)


def test_a_hostile_fragment_is_text_and_runs_nothing(new_page, live_server):
    page = new_page(viewport=PHONE)
    dialogs, sent = [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("request", lambda request: sent.append(request))
    for path in ("/reset-password/", "/verify/"):
        for fragment in FRAGMENTS:
            page.goto("about:blank")
            page.goto(f"{path}#{fragment}")
            page.wait_for_load_state("networkidle")
            assert page.evaluate("location.hash") == "", (path, fragment)
            assert page.locator("main img, main svg[onload]").count() == 0
            assert not [r.url for r in sent if r.method == "POST"]
    page.goto(f"/reset-password/#{FRAGMENTS[0]}")
    expect(page.locator("[data-link-email]")).to_have_text(HOSTILE)
    form = page.locator("[data-reset-confirm-form]")
    form.get_by_label("New password").fill("moonlit-meadow-canter-31")
    form.get_by_role("button", name="Set the new password").click()
    screenshot(page, "recovery-link-hostile-fragment")
    # A cut link (its token short) for a real address: said so, the code offered instead.
    page.goto("about:blank")
    page.goto("/reset-password/#email=rider%40example.com&token=abc")
    form.get_by_label("New password").fill("moonlit-meadow-canter-31")
    form.get_by_role("button", name="Set the new password").click()
    expect(form.locator("[data-form-status]")).to_have_text(
        "This link is not complete. Open it from the e-mail again, or type the code instead."
    )
    expect(form.get_by_label("Reset code")).to_be_visible()
    assert dialogs == []


def test_a_link_whose_address_the_form_refuses_shows_the_field_to_type_it(new_page):
    """As on the sign-up link's page: never "check the highlighted fields" with the field
    out of sight."""
    page = new_page(viewport=PHONE)
    page.goto("/reset-password/#email=%3Cscript%3Ealert(1)%3C%2Fscript%3E&token=x")
    form = page.locator("[data-reset-confirm-form]")
    expect(form.get_by_label("E-mail", exact=True)).to_be_visible()
    page.goto("about:blank")
    page.goto("/reset-password/#email=rider%40example.com&token=x")
    expect(form.get_by_label("E-mail", exact=True)).to_be_hidden()
