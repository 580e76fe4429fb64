"""Helpers for the browser tests: viewports, markers, offline tiles, screenshots."""

import os
import re
import struct
import zlib
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


# Every browser test module sets `pytestmark = BROWSER`: the marker that `make test`'s
# PostgreSQL pass deselects. No xdist group: both workers run browser tests (a collectstatic
# and a Chromium each), so neither is left alone with three minutes of them at the end.
BROWSER = [pytest.mark.browser]


def _blank_png(size: int = 256, rgb: tuple[int, int, int] = (242, 239, 233)) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


BLANK_TILE = _blank_png()


def tile_pattern(template: str = settings.MAP_TILES_URL) -> re.Pattern:
    """A regex for the tile URLs of MAP_TILES_URL (`{z}/{x}/{y}` and friends)."""
    pattern = re.escape(template)
    for placeholder in ("s", "z", "x", "y", "r"):
        pattern = pattern.replace(re.escape("{" + placeholder + "}"), "[^/]*")
    return re.compile("^(https?:)?" + pattern.removeprefix(re.escape("https:")) + r"(\?.*)?$")


TILES = tile_pattern()


# Every URL but this machine's. A pattern, not a Python predicate: Playwright matches a
# pattern in its driver, but sends every request of the page to this process to ask a
# predicate (a round trip for each, the pages' own files and API calls included).
OFF_SITE = re.compile(r"^(?!https?://(localhost|127\.0\.0\.1)(:\d+)?/)")


def serve_blank_tiles(context) -> None:
    """Tile requests get a blank tile; anything else off this machine is aborted."""
    context.unroute_all()

    def handle(route):
        if TILES.match(route.request.url):
            route.fulfill(status=200, content_type="image/png", body=BLANK_TILE)
        else:
            route.abort()

    context.route(OFF_SITE, handle)


def go_offline_for_tiles(context) -> None:
    """No tiles at all, as without internet: every off-site request fails."""
    context.unroute_all()
    context.route(OFF_SITE, lambda route: route.abort())


# The screenshots of the journeys, for a person to look at (nothing compares them): taken
# when WILDRYDES_SCREENSHOTS=1. Each full-page PNG cost Chromium ~0.4 s CPU, ~70 of them a
# run. A failing test's pages are kept whatever this says (conftest.py, new_page).
SCREENSHOTS_WANTED = os.environ.get("WILDRYDES_SCREENSHOTS", "").lower() in ("1", "true")


def take_screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def screenshot(page, name: str) -> Path | None:
    """The page as it is now, into test-artifacts/screenshots/, when screenshots are wanted."""
    return take_screenshot(page, name) if SCREENSHOTS_WANTED else None


def open_ride_page(page):
    page.goto("/ride/")
    page.locator("[data-map-ready]").wait_for(state="attached")


def set_pickup_at_the_centre(page):
    page.locator("#ride-map").click()  # Playwright clicks the middle of the element
    expect(page.locator(".wr-marker-pickup")).to_be_visible()
    expect(page.locator("[data-estimate-amount]")).to_have_text("$12.50")


def tap_the_map(page, *, right: float = 0, up: float = 0):
    """A tap on the ride map, `right` and `up` CSS pixels from its centre."""
    box = page.locator("#ride-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2 + right, box["y"] + box["height"] / 2 - up)


def request_a_unicorn(page):
    """The ride page, a pickup at the map's centre (a $12.50 flat fare), Request a unicorn."""
    open_ride_page(page)
    set_pickup_at_the_centre(page)
    page.get_by_role("button", name="Request a unicorn").click()
