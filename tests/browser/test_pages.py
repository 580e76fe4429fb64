import json
import re

import pytest
from playwright.sync_api import expect

from tests.browser.support import BROWSER, DESKTOP, PHONE, SCREENSHOTS, TILES, screenshot
from tests.factories import RideFactory, UnicornFactory, UserFactory

pytestmark = BROWSER

# name: (path, what shows once the page's scripts are done)
PAGES = {
    "home": ("/", "text=Skip the traffic."),
    "unicorns": ("/unicorns/", "text=Shadowfax"),
    "investors": ("/investors/", "text=Our investors"),
    "faq": ("/faq/", "summary >> nth=0"),
    "apply": ("/apply/", "#f-name"),
    "register": ("/register/", "#f-password"),
    "verify": ("/verify/", "#f-code"),
    "signin": ("/signin/", "#f-password"),
    "reset-password": ("/reset-password/", "#f-new_password"),
    "account": ("/account/", "#f-current_password"),
    "ride": ("/ride/", "[data-map-ready] .leaflet-tile-loaded"),
    "history": ("/history/", "[data-rides-body] tr"),
    "notifications": ("/notifications/", "text=No notifications yet."),
    "not-found": ("/no-such-page/", "text=This page has wandered off"),
}
HASHED = re.compile(r"\.[0-9a-f]{12}\.(js|css|svg|png)$")
WEIGHT_LIMIT_BYTES = 300 * 1024


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_page_renders_with_hashed_static_files(new_page, sign_in, viewport):
    UnicornFactory(name="Shadowfax", color="white", gender="male")
    UnicornFactory(name="Moonbeam", color="silver", gender="female")
    rider = UserFactory()
    ride = RideFactory(
        rider=rider,
        unicorn__name="Stardust",
        unicorn__color="lavender",
        dropoff_latitude=47.6162,
        dropoff_longitude=-122.3421,
    )
    pages = {**PAGES, "receipt": (f"/history/{ride.id}/", "#receipt-map .wr-marker-dropoff")}
    page = new_page(viewport)
    sign_in(page, rider)
    static = []
    page.on(
        "response",
        lambda response: "/static/" in response.url and static.append(response),
    )
    size = "desktop" if viewport is DESKTOP else "phone"

    for name, (path, ready) in pages.items():
        response = page.goto(path)
        assert response.status == (404 if name == "not-found" else 200), name
        expect(page.locator(ready).first).to_be_visible()
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        screenshot(page, f"page-{name}-{size}")

    assert static
    for response in static:
        assert response.status == 200, response.url
        assert HASHED.search(response.url.split("?")[0]), f"not a hashed name: {response.url}"


def test_the_ride_page_weighs_under_300_kb_without_tiles(page, sign_in):
    sign_in(page, UserFactory())
    bodies = {}

    def record(response):
        if TILES.match(response.url):
            return
        kind = response.request.resource_type
        bodies[response.url] = (kind, len(response.body()))

    page.on("response", record)
    page.goto("/ride/")
    page.locator("[data-map-ready]").wait_for(state="attached")
    page.wait_for_load_state("networkidle")
    on_the_wire = page.evaluate(
        """() => [performance.getEntriesByType("navigation")[0],
                   ...performance.getEntriesByType("resource")]
                 .filter((entry) => !/\\/\\d+\\/\\d+\\/\\d+\\.png/.test(entry.name))
                 .reduce((sum, entry) => sum + entry.transferSize, 0)"""
    )

    by_kind = {}
    for kind, size in bodies.values():
        by_kind[kind] = by_kind.get(kind, 0) + size
    html_js_css = sum(by_kind.get(kind, 0) for kind in ("document", "script", "stylesheet"))
    figures = {
        "html_js_css_bytes": html_js_css,
        "all_but_tiles_bytes": sum(by_kind.values()),
        "transferred_bytes": on_the_wire,
        "by_kind": by_kind,
    }
    SCREENSHOTS.parent.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS.parent / "ride-page-weight.json").write_text(json.dumps(figures, indent=2))
    assert html_js_css < WEIGHT_LIMIT_BYTES, figures
    assert figures["all_but_tiles_bytes"] < WEIGHT_LIMIT_BYTES, figures


def test_a_rider_sets_the_pickup_with_the_keyboard_alone(page, sign_in):
    sign_in(page, UserFactory())
    page.goto("/ride/")
    page.locator("[data-map-ready]").wait_for(state="attached")

    page.get_by_role("radio", name="Pickup").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Use my location")).to_be_focused()
    page.keyboard.press("Tab")
    centre = page.get_by_role("button", name="Use map centre")
    expect(centre).to_be_focused()
    assert centre.evaluate("button => getComputedStyle(button).outlineStyle") == "solid"
    page.keyboard.press("Enter")

    expect(page.locator(".wr-marker-pickup")).to_be_visible()
    expect(page.locator("[data-estimate-amount]")).to_have_text("$12.50")
    expect(page.get_by_role("radio", name="Drop-off")).to_be_checked()


def test_pages_work_with_static_files_on_another_origin(page, live_server, sign_in, settings):
    # As on AWS, where STATIC_URL is the S3 bucket (or a CDN): here 127.0.0.1 instead of
    # localhost, the same server but another origin for the browser.
    port = live_server.url.rsplit(":", 1)[1]
    settings.STATIC_URL = f"http://127.0.0.1:{port}/static/"
    # The stage's Content-Security-Policy lists the static origin, as settings do on AWS.
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    static_origin = f"http://127.0.0.1:{port}"
    settings.CONTENT_SECURITY_POLICY = {
        "DIRECTIVES": {
            **directives,
            **{
                name: [*directives[name], static_origin]
                for name in ("script-src", "style-src", "style-src-elem", "img-src")
            },
        }
    }
    sign_in(page, UserFactory())
    loaded = []
    page.on("requestfinished", lambda request: loaded.append(request.url))

    page.goto("/ride/")
    page.locator("[data-map-ready]").wait_for(state="attached")
    page.locator("#ride-map").click()

    expect(page.locator("[data-estimate-amount]")).to_have_text("$12.50")
    assert any(url.startswith(settings.STATIC_URL) and url.endswith(".js") for url in loaded)
