"""The rider pages and the operators' admin checked by axe-core, a tool nobody here wrote.

axe-core (npm, pinned by tests/browser/axe/package-lock.json; `npm ci --prefix
tests/browser/axe`, as `make test` and .ci/run do) is evaluated in each page once it is
drawn, and its WCAG 2 A and AA rules run. A violation of impact "serious" or "critical"
fails the test, with the page, the rule, the element and axe's help. Every rider page in
each of its states (signed out; the ride page planning, following a unicorn, arrived, on
board and after the ride; a receipt; notifications without and with items; the account),
and the admin pages operators and finance live in, at phone (390x844) and desktop
(1280x800) size: one browser context per size, the pages one after another.

Without axe the test is skipped loudly; in CI (CI=true) that is a failure. Map tiles never
load here (no network): the maps are their lavender canvas, as offline.

What axe cannot judge is checked by hand, with Playwright's keyboard: a ride requested and
cancelled with Tab, Enter and Space alone; the focus shown at every stop (a ring of 3:1 or
more against what is around it) and never dropped to the top of the page when the control
that had it goes; what the ride card says reaching a screen reader (live regions that were
in the page before their text changed).
"""

import functools
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from notifications.models import Notification
from payments.models import Payment
from rides.models import Ride
from tests.browser.support import (
    BROWSER,
    DESKTOP,
    PHONE,
    go_offline_for_tiles,
    open_ride_page,
    tap_the_map,
)
from tests.factories import PASSWORD, RideFactory, UnicornFactory, UserFactory, arrive_now

pytestmark = BROWSER

AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
FAILING_IMPACTS = {"serious", "critical"}
LAT, LNG = settings.CITY_CENTER
SIZES = pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])


@functools.cache
def axe_source() -> str:
    if not AXE.is_file():
        reason = "axe-core is not installed: run `npm ci --prefix tests/browser/axe`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {reason}", pytrace=False)
        pytest.skip(f"ACCESSIBILITY TESTS SKIPPED: {reason}")
    return AXE.read_text()


RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {
    runOnly: { type: "tag", values: tags },
    resultTypes: ["violations"],
  });
  return result.violations.map((violation) => ({
    id: violation.id,
    impact: violation.impact,
    help: violation.help,
    helpUrl: violation.helpUrl,
    nodes: violation.nodes.map((node) => ({
      target: node.target.join(" "), impact: node.impact, summary: node.failureSummary,
    })),
  }));
}"""


class Audit:
    """axe's serious and critical findings, page by page, for one viewport."""

    def __init__(self, page):
        self.page = page
        self.findings: list[dict] = []
        self.checked: list[str] = []

    def check(self, name: str) -> None:
        page = self.page
        violations = page.evaluate(RUN_AXE, WCAG_A_AA)
        self.checked.append(name)
        for violation in violations:
            nodes = [n for n in violation["nodes"] if n["impact"] in FAILING_IMPACTS]
            if nodes:
                self.findings.append({"page": name, "url": page.url, **violation, "nodes": nodes})

    def report(self) -> str:
        lines = []
        for finding in self.findings:
            nodes = finding["nodes"]
            lines.append(
                f"{finding['page']} ({finding['url']}): {finding['id']} "
                f"[{finding['impact']}] x{len(nodes)}: {finding['help']} ({finding['helpUrl']})"
            )
            lines += [f"    {node['target']}" for node in nodes]
            lines.append("      " + nodes[0]["summary"].replace("\n", "\n      "))
        return "\n".join(lines)

    def assert_clean(self) -> None:
        count = sum(len(finding["nodes"]) for finding in self.findings)
        assert not self.findings, (
            f"axe: {count} serious or critical violations on the {len(self.checked)} pages "
            f"checked:\n{self.report()}"
        )


def settled(page, selector: str = "main") -> None:
    """The page loaded, and `selector` in it."""
    page.wait_for_load_state("load")
    page.locator(selector).first.wait_for()


@SIZES
def test_axe_finds_nothing_serious_on_the_rider_pages_and_the_admin(
    new_page, sign_in, settings, django_user_model, viewport
):
    axe_source()  # skip (or fail in CI) before anything else
    settings.RIDE_BOARDING_MINUTES = 60
    settings.SERVICE_AREA = {"latitude": LAT, "longitude": LNG, "radius_km": 0.1}
    UnicornFactory(name="Shadowfax", color="white", gender="male", latitude=LAT, longitude=LNG)
    rider = UserFactory(email="sam@example.com")
    page = new_page(viewport)
    go_offline_for_tiles(page.context)
    page.context.add_init_script(axe_source())
    audit = Audit(page)

    # Signed out: the site, signing up, confirming, signing in, a forgotten password.
    for path, name in [
        ("/", "landing"),
        ("/unicorns/", "unicorns"),
        ("/investors/", "investors"),
        ("/faq/", "faq"),
        ("/apply/", "become a unicorn"),
        ("/verify/?email=sam%40example.com&sent", "confirm the e-mail"),
        ("/signin/", "sign in"),
        ("/reset-password/", "password reset"),
    ]:
        page.goto(path)
        settled(page, "h1")
        audit.check(name)
    page.goto("/register/")
    settled(page, "h1")
    audit.check("sign up")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#f-email-error")).to_have_text("Enter your e-mail address.")
    audit.check("sign up, refused")
    page.goto("/signin/")
    page.get_by_label("E-mail").fill(rider.email)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("[data-form-status]")).not_to_be_empty()
    audit.check("sign in, refused")

    # The rider: an empty inbox, then a ride from the planner to the end.
    sign_in(page, rider)
    page.goto("/notifications/")
    expect(page.get_by_text("No notifications yet.")).to_be_visible()
    audit.check("notifications, none")

    open_ride_page(page)
    audit.check("ride: planning")
    page.get_by_role("button", name="Use map centre").click()
    expect(page.get_by_role("button", name="Request a unicorn")).to_be_enabled()
    audit.check("ride: pickup and estimate")
    page.get_by_role("button", name="Request a unicorn").click()
    message = page.locator("[data-ride-message]")
    expect(message).to_contain_text("is on his way")
    audit.check("ride: the unicorn on its way")
    arrive_now(Ride.objects.get(rider=rider))
    expect(message).to_have_text("Shadowfax has arrived. Giddy up!", timeout=10_000)
    audit.check("ride: arrived")
    page.get_by_role("button", name="I\u2019m on board").click()
    expect(message).to_contain_text("You are riding Shadowfax")
    audit.check("ride: on board")
    page.get_by_role("button", name="Complete ride").click()
    expect(message).to_contain_text("Ride complete")
    audit.check("ride: after the ride")
    page.get_by_role("button", name="Request another unicorn").click()
    tap_the_map(page, right=150)  # outside the service area: refused, said on the map
    expect(page.locator("[data-map-message]")).to_contain_text("service area")
    audit.check("ride: a pickup refused")

    ride = Ride.objects.get(rider=rider)
    page.goto("/history/")
    expect(page.locator("[data-rides-body] tr")).to_have_count(1)
    audit.check("history")
    page.goto(f"/history/{ride.id}/")
    settled(page, "[data-map-ready]")
    audit.check("receipt")
    Notification.objects.create(user=rider, message="We received your payment of $12.50.")
    page.goto("/notifications/")
    expect(page.locator(".notification").first).to_be_visible()
    audit.check("notifications, some")
    if viewport == PHONE:  # the site's links are in the menu
        page.get_by_role("button", name="Menu").click()
        expect(page.get_by_role("link", name="Become a unicorn").first).to_be_visible()
        audit.check("notifications, the menu open")
    page.goto("/account/")
    settled(page, "h1")
    audit.check("account")

    # The admin, as a superuser sees it (every module, every link).
    page.context.clear_cookies()
    page.goto("/admin/login/")
    settled(page, "#content")
    audit.check("admin: sign in")
    admin = django_user_model.objects.create_superuser(email="root@example.com", password=PASSWORD)
    sign_in(page, admin)
    payment = Payment.objects.first()
    for path, name in [
        ("/admin/", "admin: index"),
        ("/admin/bi/dailyaggregate/dashboard/", "admin: operations dashboard"),
        ("/admin/rides/ride/", "admin: rides"),
        (f"/admin/rides/ride/{ride.pk}/change/", "admin: a ride"),
        ("/admin/payments/payment/", "admin: payments"),
        (f"/admin/payments/payment/{payment.pk}/change/", "admin: a payment"),
    ]:
        page.goto(path)
        settled(page, "#content")
        audit.check(name)

    audit.assert_clean()


# What a screen reader hears: every change of a live region's text (role status, alert or
# log, or aria-live), and whether the region was in the page, shown, before the change. A
# region shown and filled in the same moment (it was display: none, or inside something
# hidden) is not announced: a screen reader only reads changes of a region it already knew.
LIVE_REGIONS = """(() => {
  const LIVE = '[aria-live]:not([aria-live="off"]), [role="status"], [role="alert"], [role="log"]';
  const said = (window.__liveChanges = []);
  const known = new Map();
  const shown = (region) => region.checkVisibility() && !region.closest('[aria-hidden="true"]');
  function look() {
    for (const region of document.querySelectorAll(LIVE)) {
      const text = region.textContent.replace(/\\s+/g, " ").trim();
      const now = shown(region);
      const before = known.get(region);
      if (before && text && text !== before.text) said.push({ text, heard: before.shown && now });
      known.set(region, { shown: now, text });
    }
  }
  document.addEventListener("DOMContentLoaded", () => {
    look();
    new MutationObserver(look).observe(document.body, {
      subtree: true, childList: true, characterData: true,
      attributes: true, attributeFilter: ["hidden", "class", "style", "aria-hidden"],
    });
  });
})();"""

# The focused element shows where it is: an outline (or a ring drawn by a box-shadow) at
# least 2 px wide; an outline in a colour of 3:1 or more against what is around it (WCAG
# 1.4.11): the background behind the control, each colour of a gradient (the outline is
# drawn outside the control, over its parent's background).
FOCUS_SHOWN = """() => {
  const focused = document.activeElement;
  if (!focused || focused === document.body) return "nothing is focused";
  const name = focused.outerHTML.slice(0, 80);
  // A control drawn by its label (the segmented radio buttons) shows focus on the label's box.
  const drawn = focused.matches(".segmented input") ? focused.nextElementSibling : focused;
  const style = getComputedStyle(drawn);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
  if (!outline) {
    return /\\d+px \\d+px \\d+px [2-9]/.test(style.boxShadow) ? "" : `no focus ring on ${name}`;
  }
  const rgba = (text) => text.match(/[\\d.]+/g).map(Number).concat(1).slice(0, 4);
  const luminance = ([r, g, b]) => [r, g, b]
    .map((c) => (c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)
    .reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
  const contrast = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  let behind = [[255, 255, 255, 1]];
  for (let node = drawn.parentElement; node; node = node.parentElement) {
    const around = getComputedStyle(node);
    const stops = (around.backgroundImage.match(/rgba?\\([^)]*\\)/g) || [])
      .map(rgba).filter((c) => c[3] > 0.5);
    const colour = rgba(around.backgroundColor);
    if (stops.length || colour[3] > 0.5) {
      behind = colour[3] > 0.5 ? [colour, ...stops] : stops;
      break;
    }
  }
  const ring = rgba(style.outlineColor);
  const worst = Math.min(...behind.map((colour) => contrast(ring, colour)));
  return worst >= 3 ? "" : `the focus ring of ${name} has ${worst.toFixed(2)}:1 around it`;
}"""


def press_tab_until(page, name: str, *, limit: int = 40) -> list[str]:
    """Tab until the control called `name` has the focus; on the way every control shows
    its focus. Returns the names of the controls passed."""
    passed = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        hidden_focus = page.evaluate(FOCUS_SHOWN)
        assert not hidden_focus, hidden_focus
        focused = page.evaluate(
            "() => { const f = document.activeElement;"
            " return (f.getAttribute('aria-label') || f.innerText || f.tagName).trim(); }"
        )
        passed.append(focused)
        if focused == name:
            return passed
    raise AssertionError(f"Tab never reached {name!r}; it went through {passed}")


def test_a_rider_requests_and_cancels_with_the_keyboard_alone_and_hears_the_ride(
    new_page, sign_in, settings
):
    """Tab, Enter and Space only: the pickup, the request, the cancellation, focus always
    shown and never lost; what the page says about the ride reaches a screen reader."""
    settings.RIDE_TIME_SCALE = 60  # 300 m away: the unicorn comes within a second
    settings.RIDE_BOARDING_MINUTES = 60
    settings.SERVICE_AREA = {"latitude": LAT, "longitude": LNG, "radius_km": 0.4}
    UnicornFactory(
        name="Shadowfax", color="white", gender="male", latitude=LAT + 0.0027, longitude=LNG
    )
    page = new_page(DESKTOP)
    page.add_init_script(LIVE_REGIONS)
    sign_in(page, UserFactory())
    open_ride_page(page)

    press_tab_until(page, "Use map centre")
    page.keyboard.press("Enter")
    expect(page.locator("[data-estimate-amount]")).to_have_text("$12.50")
    press_tab_until(page, "Request a unicorn")
    page.keyboard.press("Enter")

    message = page.locator("[data-ride-message]")
    expect(message).to_have_text("Shadowfax has arrived. Giddy up!", timeout=10_000)
    # The focus went on to what can be done now, not to the top of the page.
    cancel = page.get_by_role("button", name="Cancel ($5.00 fee)")
    expect(cancel).to_be_focused()
    assert not page.evaluate(FOCUS_SHOWN)
    page.keyboard.press("Space")
    expect(message).to_have_text("Your ride is cancelled.")
    expect(page.get_by_role("link", name="See the receipt")).to_be_focused()
    assert not page.evaluate(FOCUS_SHOWN)

    # Another ride: a pickup outside the service area is refused, and that is heard too.
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Request another unicorn")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("radio", name="Pickup")).to_be_focused()
    assert not page.evaluate(FOCUS_SHOWN)
    tap_the_map(page, right=300)
    expect(page.locator("[data-map-message]")).to_contain_text("service area")

    changes = page.evaluate("window.__liveChanges")
    heard = [change["text"] for change in changes if change["heard"]]
    for said in [
        "Shadowfax, your white unicorn, is on his way.",
        "Shadowfax has arrived. Giddy up!",
        "Your ride is cancelled.",
        "outside our service area",
    ]:
        assert any(said in text for text in heard), (said, changes)


def test_every_control_of_the_landing_page_shows_its_focus_to_the_keyboard(page):
    """Tab through the whole page, at desktop and at phone size: each stop shows a focus
    ring that stands out from what is around it (the accent band's button included)."""
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        page.goto("/")
        settled(page, "h1")
        stops = []
        for _ in range(40):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement === document.body"):
                break
            stops.append(page.evaluate("document.activeElement.outerHTML.slice(0, 60)"))
            assert not page.evaluate(FOCUS_SHOWN), page.evaluate(FOCUS_SHOWN)
        assert any("Become a unicorn" in stop for stop in stops), stops


def test_marking_notifications_read_from_the_keyboard_keeps_the_focus_in_the_list(page, sign_in):
    """Enter on 'Mark as read' removes that button: the focus goes on to the next one, not
    back to the top of the page; after 'Mark all as read' (hidden then), to the newest."""
    rider = UserFactory()
    for message in ("Shadowfax is on his way.", "Shadowfax has arrived.", "Your receipt."):
        Notification.objects.create(user=rider, message=message)
    sign_in(page, rider)
    page.goto("/notifications/")
    expect(page.get_by_role("button", name="Mark as read")).to_have_count(3)

    press_tab_until(page, "Mark as read")
    page.keyboard.press("Enter")
    expect(page.locator("[data-notifications-status]")).to_have_text("Marked as read.")
    expect(page.get_by_role("button", name="Mark as read")).to_have_count(2)
    expect(page.get_by_role("button", name="Mark as read").first).to_be_focused()
    assert not page.evaluate(FOCUS_SHOWN)

    page.reload()
    press_tab_until(page, "Mark all as read")
    page.keyboard.press("Enter")
    expect(page.locator(".notification.is-read")).to_have_count(3)
    expect(page.locator(".notification").first).to_be_focused()
    assert not page.evaluate(FOCUS_SHOWN)


def test_showing_older_rides_or_notifications_takes_the_focus_to_the_first_of_them(page, sign_in):
    """'Show older ...' is disabled while it loads (the focus leaves it) and goes when
    nothing older is left: the focus lands on the first ride, or notification, it brought."""
    rider = UserFactory()
    rides = RideFactory.create_batch(21, rider=rider, status=Ride.Status.CANCELLED)
    Notification.objects.bulk_create(
        Notification(user=rider, message=f"Notification {n}.", read_at=timezone.now())
        for n in range(21)
    )
    sign_in(page, rider)

    page.goto("/history/")
    expect(page.locator("[data-rides-body] tr")).to_have_count(20)
    page.get_by_role("button", name="Show older rides").focus()
    page.keyboard.press("Enter")
    expect(page.locator("[data-rides-body] tr")).to_have_count(21)
    expect(page.get_by_role("link", name=rides[0].reference)).to_be_focused()
    assert not page.evaluate(FOCUS_SHOWN)

    page.goto("/notifications/")
    expect(page.locator(".notification")).to_have_count(20)
    page.get_by_role("button", name="Show older notifications").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".notification")).to_have_count(21)
    expect(page.locator(".notification").nth(20)).to_be_focused()
    assert not page.evaluate(FOCUS_SHOWN)


def test_after_changing_the_password_from_the_keyboard_the_focus_is_back_on_the_button(
    page, sign_in
):
    """The button is disabled while the form is sent (the focus leaves it): when the page
    stays, with its sentence said, the rider is back where they were, not at the top."""
    sign_in(page, UserFactory())
    page.goto("/account/")
    form = page.locator("[data-password-change-form]")
    form.get_by_label("Current password").fill(PASSWORD)
    form.get_by_label("New password").fill("a-new-horse-battery-staple")
    form.get_by_role("button", name="Change password").focus()
    page.keyboard.press("Enter")
    expect(form.locator("[data-form-status]")).to_have_text(
        "Your password is changed. You are signed out everywhere else."
    )
    expect(form.get_by_role("button", name="Change password")).to_be_focused()
    assert not page.evaluate(FOCUS_SHOWN)
