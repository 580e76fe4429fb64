"""The ride page under a flaky network and a slow server: which Idempotency-Key a repeated
request carries, and how many polls are in flight. Real Chromium against the live server; the
route only loses answers or puts a gateway's 504 in their place, a slow booking is the real
one held up in the server, and slow polls are the real ones, delayed in the page."""

import itertools
import re
import threading

import pytest
from django.conf import settings
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from rides import services
from rides.models import Ride, Unicorn
from tests.browser.support import (
    BROWSER,
    DESKTOP,
    PHONE,
    SCREENSHOTS_WANTED,
    open_ride_page,
    request_a_unicorn,
    screenshot,
    set_pickup_at_the_centre,
    tap_the_map,
)
from tests.factories import UnicornFactory, UserFactory

pytestmark = BROWSER

LAT, LNG = settings.CITY_CENTER
ON_HIS_WAY = "Shadowfax, your white unicorn, is on his way."
# What api.js says of a request that got no answer.
NO_ANSWER = "We could not reach Wild Rydes. Check your connection and try again."
RIDES = re.compile(r"/api/rides/$")
# What the ride page says when its polls fail.
LOST_TOUCH = (
    "We cannot reach Wild Rydes right now: what you see may be out of date. We keep trying."
)


@pytest.fixture
def shadowfax():
    # 3 km away: six minutes of travel, the ride stays "assigned" during a test.
    return UnicornFactory(
        name="Shadowfax", color="white", gender="male", latitude=LAT + 0.027, longitude=LNG
    )


def request_a_unicorn_at_the_centre(page):
    """The ride page, a pickup at the map's centre, Request a unicorn: the unicorn is on its way."""
    request_a_unicorn(page)
    expect(page.locator("[data-ride-message]")).to_have_text(ON_HIS_WAY)


def on_a_ride_with_polls_on_a_held_clock(new_page, sign_in, rider=None):
    """A phone-sized page whose polls are recorded and whose clock the test moves: the rider
    (a new one unless given) signed in, the unicorn on its way to the map's centre."""
    page = new_page(PHONE)
    page.add_init_script(PLANNED_POLLS)
    page.clock.install()
    sign_in(page, rider or UserFactory())
    request_a_unicorn_at_the_centre(page)
    return page


def screenshots(page, name):
    """At phone and desktop sizes (when screenshots are wanted: support.SCREENSHOTS_WANTED)."""
    if not SCREENSHOTS_WANTED:
        return
    for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(viewport)
        page.wait_for_timeout(600)  # the map fitted again to its new size, its tiles drawn
        screenshot(page, f"{name}-{size}")


def booking_requests(page, first_answer=None):
    """The Idempotency-Key of every POST /api/rides/ the page sends, in order.

    first_answer changes how the first one ends; the others reach the server as they are:
    "lost": the server books, the browser gets no answer (a dropped connection);
    "gateway timeout": the server books, a gateway in between answers 504 (it stopped waiting);
    "held up": the browser gives up after a second while the server is still booking.
    """
    keys = []

    def handle(route):
        if route.request.method != "POST":
            return route.continue_()
        keys.append(route.request.headers.get("idempotency-key"))
        answer = first_answer if len(keys) == 1 else None
        if answer == "lost":
            route.fetch()
            route.abort("connectionreset")
        elif answer == "gateway timeout":
            route.fetch()
            route.fulfill(status=504, content_type="text/html", body="<h1>504 Gateway Timeout</h1>")
        elif answer == "held up":
            try:
                route.fetch(timeout=1_000)
            except PlaywrightError:
                route.abort("timedout")
        else:
            route.continue_()

    page.route(RIDES, handle)
    return keys


def last_booking(page):
    return page.expect_response(lambda r: RIDES.search(r.url) and r.request.method == "POST")


def assert_the_first_requests_ride_is_shown(page, last):
    # The first request's ride, replayed for its key, not refused as a "second" ride.
    assert last.value.status == 201
    assert last.value.headers.get("idempotent-replayed") == "true"
    expect(page.locator("[data-ride-message]")).to_have_text(ON_HIS_WAY)
    expect(page.locator("[data-ride-status]")).to_be_empty()
    assert Ride.objects.count() == 1


@pytest.mark.parametrize("first_answer", ["lost", "gateway timeout"])
def test_a_retry_after_an_unanswered_request_reuses_its_key_and_gets_the_ride(
    page, sign_in, shadowfax, first_answer
):
    sign_in(page, UserFactory())
    open_ride_page(page)
    set_pickup_at_the_centre(page)
    keys = booking_requests(page, first_answer)
    request = page.locator("[data-request]")

    request.click()
    expect(page.locator("[data-ride-status]")).to_have_text(
        NO_ANSWER
        if first_answer == "lost"
        else "Something went wrong on our side. Please try again in a moment."
    )
    with last_booking(page) as last:
        request.click()

    assert_the_first_requests_ride_is_shown(page, last)
    assert len(keys) == 2 and keys[0] == keys[1], keys


@pytest.fixture
def slow_booking(monkeypatch, settings):
    """The server's booking waits until the test lets it go on."""
    settings.IDEMPOTENCY_WAIT_SECONDS = 0.3  # a duplicate's wait for the first answer
    go_on = threading.Event()
    book = services.request_ride

    def request_ride(**kwargs):
        go_on.wait(timeout=20)
        return book(**kwargs)

    monkeypatch.setattr(services, "request_ride", request_ride)
    yield go_on
    go_on.set()


def test_a_retry_while_the_first_request_is_still_booking_keeps_its_key(
    page, sign_in, shadowfax, slow_booking
):
    sign_in(page, UserFactory())
    open_ride_page(page)
    set_pickup_at_the_centre(page)
    keys = booking_requests(page, "held up")
    request = page.locator("[data-request]")
    status = page.locator("[data-ride-status]")
    request.click()
    expect(status).to_have_text(NO_ANSWER)

    request.click()  # the server: 409 with Retry-After, the first one is still running
    expect(status).to_have_text(
        re.compile(r"^Your request is still being processed\. Try again in \d+ seconds for")
    )
    expect(request).to_have_text(re.compile(r"Try again in \d+ s"))
    screenshots(page, "ride-request-still-processing")
    slow_booking.set()  # the first request books its ride and stores its answer
    with last_booking(page) as last:
        request.click()

    assert_the_first_requests_ride_is_shown(page, last)
    assert len(keys) == 3 and len(set(keys)) == 1, keys


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_changed_trip_after_an_unanswered_request_is_a_new_request(
    new_page, sign_in, shadowfax, viewport
):
    """A key names one request: the same key with another body is refused by the server
    ("already used for a different request"), a sentence the rider cannot act on."""
    page = new_page(viewport)
    sign_in(page, UserFactory())
    open_ride_page(page)
    set_pickup_at_the_centre(page)
    tap_the_map(page, right=120, up=80)
    expect(page.locator(".wr-marker-dropoff")).to_be_visible()
    expect(page.locator("[data-estimate-detail]")).to_contain_text("km trip")
    keys = booking_requests(page, "lost")
    request = page.locator("[data-request]")
    status = page.locator("[data-ride-status]")

    request.click()
    expect(status).to_have_text(NO_ANSWER)
    page.get_by_role("button", name="Remove").click()
    expect(page.locator("[data-estimate-detail]")).to_contain_text("Flat fare")
    request.click()

    # A new key: the server says the first request's ride exists, and the page follows it.
    expect(page.locator("[data-ride-message]")).to_have_text(ON_HIS_WAY)
    expect(status).to_contain_text("You already have a ride")
    expect(status).not_to_contain_text("Idempotency-Key")
    assert len(keys) == 2 and keys[0] != keys[1], keys
    assert Ride.objects.count() == 1
    size = "phone" if viewport is PHONE else "desktop"
    page.wait_for_timeout(500)  # the map's zoom to the ride, animated
    screenshot(page, f"ride-second-request-follows-the-first-{size}")


# Every GET of the ride (a poll) takes 1.5 s and is counted while in flight.
SLOW_POLLS = """
(() => {
  const realFetch = window.fetch;
  const polls = (window.__polls = { inFlight: 0, most: 0, started: 0 });
  const ridePoll = /\\/api\\/rides\\/[0-9a-f-]{36}\\/$/;
  window.fetch = async (url, init = {}) => {
    const isPoll = (init.method ?? "GET") === "GET" && ridePoll.test(String(url));
    if (!isPoll) return realFetch(url, init);
    polls.inFlight += 1;
    polls.started += 1;
    polls.most = Math.max(polls.most, polls.inFlight);
    try {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      return await realFetch(url, init);
    } finally {
      polls.inFlight -= 1;
    }
  };
})();
"""

SET_HIDDEN = """
(hidden) => {
  Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
  Object.defineProperty(document, "visibilityState", {
    configurable: true, get: () => (hidden ? "hidden" : "visible"),
  });
  document.dispatchEvent(new Event("visibilitychange"));
}
"""


def test_coming_back_to_the_tab_does_not_start_a_second_poll(new_page, sign_in, shadowfax):
    page = new_page(PHONE)
    page.add_init_script(SLOW_POLLS)
    sign_in(page, UserFactory())
    request_a_unicorn_at_the_centre(page)

    page.wait_for_function("() => window.__polls.inFlight === 1")
    for _ in range(3):  # the rider switches tabs back and forth while a poll is slow
        page.evaluate(SET_HIDDEN, True)
        page.evaluate(SET_HIDDEN, False)
        page.wait_for_timeout(100)
    started = page.evaluate("window.__polls.started")
    page.wait_for_function(f"() => window.__polls.started >= {started + 1}", timeout=8_000)

    assert page.evaluate("window.__polls.most") == 1  # one poll in flight at a time
    expect(page.locator("[data-ride-message]")).to_have_text(ON_HIS_WAY)


def test_a_lost_answer_to_an_action_that_was_done_is_not_an_error(page, sign_in, settings):
    settings.RIDE_TIME_SCALE = 60  # 300 m in under a second
    settings.RIDE_BOARDING_MINUTES = 60  # a minute to board at that pace
    UnicornFactory(name="Shadowfax", gender="male", latitude=LAT + 0.0027, longitude=LNG)
    sign_in(page, UserFactory())
    request_a_unicorn(page)
    message = page.locator("[data-ride-message]")
    status = page.locator("[data-ride-status]")
    board = page.get_by_role("button", name="I\u2019m on board")
    expect(message).to_have_text("Shadowfax has arrived. Giddy up!")
    reaches_the_server = False

    def lose_the_answer(route):
        if reaches_the_server:
            route.fetch()
        route.abort("connectionreset")

    page.route(re.compile(r"/board/$"), lose_the_answer)
    board.click()  # it never reached the server: still to do, and said so
    expect(status).to_have_text(NO_ANSWER)
    page.wait_for_timeout(2_500)  # a poll later
    expect(status).to_have_text(NO_ANSWER)
    expect(message).to_have_text("Shadowfax has arrived. Giddy up!")

    reaches_the_server = True
    board.click()  # done, only its answer lost: the ride says so
    expect(message).to_have_text("You are riding Shadowfax. Enjoy the view!")
    expect(status).to_be_empty()
    expect(page.get_by_role("button", name="Complete ride")).to_be_visible()


# Ride GETs (polls) go as window.__pollPlan says, one entry each: "fail" (no answer),
# "slow fail" (no answer after 1.5 s); then as they are. window.__polls counts them, and
# notes when each one started (Date.now(): Playwright's clock when it is installed).
PLANNED_POLLS = """
(() => {
  const realFetch = window.fetch;
  const polls = (window.__polls = { inFlight: 0, failed: 0, at: [] });
  const ridePoll = /\\/api\\/rides\\/[0-9a-f-]{36}\\/$/;
  window.__pollPlan = [];
  window.fetch = async (url, init = {}) => {
    const isPoll = (init.method ?? "GET") === "GET" && ridePoll.test(String(url));
    if (!isPoll) return realFetch(url, init);
    const plan = window.__pollPlan.shift();
    polls.inFlight += 1;
    polls.at.push(Date.now());
    try {
      if (plan === "slow fail") await new Promise((resolve) => setTimeout(resolve, 1500));
      if (plan) {
        polls.failed += 1;
        throw new TypeError("Failed to fetch");
      }
      return await realFetch(url, init);
    } finally {
      polls.inFlight -= 1;
    }
  };
})();
"""


def test_a_poll_that_fails_after_an_action_answered_says_nothing(new_page, sign_in, settings):
    """On a flaky network: a poll sent before "I'm on board" fails after the boarding was
    answered. The ride is followed from the boarding's answer; no "could not reach" for it."""
    settings.RIDE_TIME_SCALE = 60
    settings.RIDE_BOARDING_MINUTES = 60
    UnicornFactory(name="Shadowfax", gender="male", latitude=LAT + 0.0027, longitude=LNG)
    page = new_page(PHONE)
    page.add_init_script(PLANNED_POLLS)
    sign_in(page, UserFactory())
    request_a_unicorn(page)
    message = page.locator("[data-ride-message]")
    status = page.locator("[data-ride-status]")
    expect(message).to_have_text("Shadowfax has arrived. Giddy up!")

    page.evaluate("window.__pollPlan.push('fail', 'slow fail')")
    page.wait_for_function("() => window.__polls.failed === 1 && window.__polls.inFlight === 1")
    page.get_by_role("button", name="I\u2019m on board").click()
    expect(message).to_have_text("You are riding Shadowfax. Enjoy the view!")
    page.wait_for_function("() => window.__polls.failed === 2", timeout=5_000)

    page.wait_for_timeout(300)
    expect(status).to_be_empty()
    expect(page.get_by_role("button", name="Complete ride")).to_be_visible()


def an_arrived_ride(page, sign_in, settings):
    """A ride whose unicorn (300 m away) arrives within a second and waits an hour."""
    settings.RIDE_TIME_SCALE = 60
    settings.RIDE_BOARDING_MINUTES = 60
    UnicornFactory(name="Shadowfax", gender="male", latitude=LAT + 0.0027, longitude=LNG)
    sign_in(page, UserFactory())
    request_a_unicorn(page)
    expect(page.locator("[data-ride-message]")).to_have_text("Shadowfax has arrived. Giddy up!")


@pytest.mark.parametrize("outcome", ["answered", "lost"])
def test_while_boarding_is_sent_the_other_actions_wait(new_page, sign_in, settings, outcome):
    """A cancellation pressed while the boarding is on its way could charge the fee the rider
    did not mean: until the boarding is answered (or lost), it cannot be pressed."""
    page = new_page(PHONE)
    an_arrived_ride(page, sign_in, settings)
    board = page.locator("[data-board]")
    cancel = page.locator("[data-cancel]")
    expect(cancel).to_have_text("Cancel ($5.00 fee)")
    held, cancels = [], []
    page.route(re.compile(r"/board/$"), lambda route: held.append(route))
    page.route(re.compile(r"/cancel/$"), lambda route: (cancels.append(1), route.continue_()))

    board.click()
    expect(board).to_have_text("Boarding\u2026")
    expect(board).to_have_attribute("aria-busy", "true")
    expect(board).to_be_disabled()
    expect(cancel).to_be_disabled()
    expect(cancel).to_have_text("Cancel ($5.00 fee)")
    cancel.click(force=True)  # the rider's thumb on it all the same
    page.wait_for_timeout(300)
    assert not cancels
    if outcome == "answered":
        screenshots(page, "ride-boarding-in-flight")
    assert len(held) == 1

    if outcome == "answered":
        held[0].continue_()
        expect(page.locator("[data-ride-message]")).to_have_text(
            "You are riding Shadowfax. Enjoy the view!"
        )
        expect(page.locator("[data-complete]")).to_be_enabled()
        expect(cancel).to_be_hidden()
    else:
        held[0].abort("connectionreset")  # it never reached the server: still to do
        expect(page.locator("[data-ride-status]")).to_have_text(NO_ANSWER)
        expect(board).to_be_enabled()
        expect(board).to_have_text("I\u2019m on board")
        expect(board).not_to_have_attribute("aria-busy", "true")
        expect(cancel).to_be_enabled()
        expect(cancel).to_have_text("Cancel ($5.00 fee)")
    assert not cancels
    assert Ride.objects.get().status != Ride.Status.CANCELLED


def test_a_request_refused_for_the_riders_own_ride_says_so_as_information(page, sign_in, shadowfax):
    """Booked in another tab: the second tab's request gets 409 'You already have a ride' and
    follows that ride. Nothing went wrong for the rider: the note is not an error's red."""
    UnicornFactory(name="Buttercup", latitude=LAT - 0.045, longitude=LNG)  # free, farther
    sign_in(page, UserFactory())
    open_ride_page(page)
    set_pickup_at_the_centre(page)
    other_tab = page.context.new_page()
    open_ride_page(other_tab)
    set_pickup_at_the_centre(other_tab)
    other_tab.get_by_role("button", name="Request a unicorn").click()
    expect(other_tab.locator("[data-ride-message]")).to_have_text(ON_HIS_WAY)

    page.get_by_role("button", name="Request a unicorn").click()

    status = page.locator("[data-ride-status]")
    expect(page.locator("[data-ride-message]")).to_have_text(ON_HIS_WAY)
    expect(status).to_contain_text("You already have a ride")
    expect(status).to_have_attribute("data-tone", "info")
    expect(status).to_have_css("font-weight", "400")
    assert Ride.objects.count() == 1
    page.wait_for_timeout(500)  # the map's zoom to the ride, animated
    screenshots(page, "ride-request-refused-follows-own-ride")


def ride_in_view(page):
    """Whether the pickup pin and the unicorn are in the map between its top and the sheet's
    top edge (on a phone the sheet lies over the map's bottom)."""
    top = page.locator("#ride-map").bounding_box()["y"]
    bottom = page.locator(".ride-sheet").bounding_box()["y"]
    boxes = [page.locator(m).bounding_box() for m in (".wr-marker-pickup", ".wr-unicorn-disc")]
    return all(top <= box["y"] and box["y"] + box["height"] <= bottom for box in boxes)


def test_on_a_phone_a_notice_that_grows_the_sheet_keeps_the_ride_in_view(new_page, sign_in):
    """The notice grows the bottom sheet and the map above it shrinks: the ride is fitted
    again into what is left, unless the rider has moved the map."""
    # 3.7 km north: the fitted ride fills the phone's map from top to bottom.
    UnicornFactory(
        name="Shadowfax", color="white", gender="male", latitude=LAT + 0.033, longitude=LNG
    )
    page = new_page(PHONE)
    page.add_init_script(PLANNED_POLLS)
    sign_in(page, UserFactory())
    request_a_unicorn_at_the_centre(page)
    page.wait_for_timeout(600)  # the map's zoom to the ride, animated
    assert ride_in_view(page)
    sheet = page.locator(".ride-sheet")
    before = sheet.bounding_box()["height"]

    page.evaluate("window.__pollPlan.push('fail', 'fail')")  # the network drops for a while
    status = page.locator("[data-ride-status]")
    expect(status).to_contain_text("We keep trying.", timeout=10_000)
    assert sheet.bounding_box()["height"] > before + 60  # the notice's room, taken from the map
    page.wait_for_timeout(600)
    assert ride_in_view(page)
    screenshots(page, "ride-notice-keeps-the-ride-in-view")  # at phone, then desktop size
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(600)

    # The rider drags the map down: the pickup goes under the sheet. When the notice goes
    # (the next poll is answered) the page leaves the map where the rider put it.
    box = page.locator("#ride-map").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + 60
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x, y + 250, steps=10)
    page.mouse.up()
    assert not ride_in_view(page)
    expect(status).to_be_empty(timeout=12_000)
    page.wait_for_timeout(600)
    assert not ride_in_view(page)


def test_a_booking_without_an_answer_is_given_up_and_its_retry_keeps_the_key(
    page, sign_in, shadowfax
):
    """A request that hangs (no answer, no error) is given up after 15 s and said, instead of
    "Finding your unicorn…" until the browser gives up minutes later; its retry keeps its
    Idempotency-Key (the first one may have booked) and gets the ride."""
    sign_in(page, UserFactory())
    open_ride_page(page)
    set_pickup_at_the_centre(page)
    keys, hung = [], []

    def hang_the_first(route):
        if route.request.method != "POST":
            return route.continue_()
        keys.append(route.request.headers.get("idempotency-key"))
        if len(keys) == 1:
            hung.append(route)  # never answered
        else:
            route.continue_()

    page.route(RIDES, hang_the_first)
    page.clock.install()
    request = page.locator("[data-request]")
    status = page.locator("[data-ride-status]")
    request.click()
    expect(request).to_have_text("Finding your unicorn\u2026")
    page.clock.fast_forward(14_000)
    expect(request).to_have_text("Finding your unicorn\u2026")
    expect(status).to_be_empty()

    page.clock.fast_forward(1_500)
    expect(status).to_have_text(
        "Wild Rydes did not answer in time. Check your connection and try again."
    )
    expect(request).to_be_enabled()
    with last_booking(page) as last:
        request.click()
    assert last.value.status == 201
    expect(page.locator("[data-ride-message]")).to_have_text(ON_HIS_WAY)
    expect(status).to_be_empty()
    assert len(keys) == 2 and keys[0] == keys[1], keys
    assert Ride.objects.count() == 1


def fast_forward(page, seconds, step=2):
    """Playwright's clock `seconds` ahead, a step at a time, each once no poll is in flight:
    a poll's answer comes in real time, and the page schedules the next poll from it."""
    for _ in range(0, seconds, step):
        page.wait_for_function("() => window.__polls.inFlight === 0")
        page.clock.fast_forward(step * 1_000)


def poll_times(page, since=0):
    """When each ride poll after the first `since` started, in ms of the page's clock."""
    return page.evaluate("window.__polls.at")[since:]


def gaps(times):
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def pickup_to_unicorn_px(page):
    pin = page.locator(".wr-marker-pickup").bounding_box()
    disc = page.locator(".wr-unicorn-disc").bounding_box()
    return abs(disc["y"] - pin["y"]) + abs(disc["x"] - pin["x"])


def test_a_tap_on_the_map_during_a_ride_still_lets_the_ride_be_kept_in_view(new_page, sign_in):
    """A tap is not the rider taking the map in hand: after one, a notice that grows the sheet
    still has the ride fitted again into the map left above it. A zoom (the wheel) is: after
    one, the map stays as the rider put it when the notice goes."""
    # 3.7 km north: the fitted ride fills the phone's map from top to bottom.
    UnicornFactory(
        name="Shadowfax", color="white", gender="male", latitude=LAT + 0.033, longitude=LNG
    )
    page = on_a_ride_with_polls_on_a_held_clock(new_page, sign_in)
    assert ride_in_view(page)
    box = page.locator("#ride-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + 80)  # a tap, on the map's top

    page.evaluate("window.__pollPlan.push('fail', 'fail')")  # the network drops for a while
    status = page.locator("[data-ride-status]")
    fast_forward(page, 6)
    expect(status).to_have_text(LOST_TOUCH)
    page.wait_for_timeout(200)  # the sheet grown, the map shrunk: fitted again
    assert ride_in_view(page)
    screenshot(page, "ride-tap-then-notice-keeps-the-ride-in-view-phone")

    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 80)
    page.mouse.wheel(0, 240)  # the rider zooms out
    page.wait_for_timeout(600)
    zoomed_out = pickup_to_unicorn_px(page)
    fast_forward(page, 8)  # the next poll is answered: the notice goes, the map grows
    expect(status).to_be_empty()
    page.wait_for_timeout(200)
    assert pickup_to_unicorn_px(page) == pytest.approx(zoomed_out, rel=0.15)


BUTTERCUP = "Buttercup, your pink unicorn, is on her way."


def book_buttercup_in_another_tab(page) -> None:
    """Shadowfax off duty, Buttercup the one free unicorn, booked from a second tab of the
    same browser (the same rider)."""
    Unicorn.objects.filter(name="Shadowfax").update(on_duty=False)
    UnicornFactory(
        name="Buttercup", color="pink", gender="female", latitude=LAT - 0.027, longitude=LNG
    )
    other_tab = page.context.new_page()
    request_a_unicorn(other_tab)
    expect(other_tab.locator("[data-ride-message]")).to_have_text(BUTTERCUP)


@pytest.mark.parametrize("how", ["shown again", "next check"])
def test_a_tab_showing_a_finished_ride_follows_one_booked_in_another_tab(
    new_page, sign_in, shadowfax, how
):
    """The rider cancelled in this tab, then booked again in another: this tab shows the new
    ride when the rider comes back to it (or at its next check for a ride booked elsewhere),
    with the new unicorn on the map, and polls it in one loop (never two polls within 2 s).
    Once cancelled, the unicorn is no longer coming: its marker leaves the map, the pickup stays."""
    page = on_a_ride_with_polls_on_a_held_clock(new_page, sign_in)
    ride_map = page.locator("#ride-map")
    expect(ride_map.locator(".wr-marker-unicorn")).to_have_count(1)
    message = page.locator("[data-ride-message]")
    page.get_by_role("button", name="Cancel ride").click()
    expect(message).to_have_text("Your ride is cancelled.")
    expect(ride_map.locator(".wr-marker-unicorn")).to_have_count(0)
    expect(ride_map).not_to_contain_text("Shadowfax")
    expect(ride_map.locator(".wr-marker-pickup")).to_be_visible()
    book_buttercup_in_another_tab(page)

    if how == "shown again":
        page.evaluate(SET_HIDDEN, True)
        page.evaluate(SET_HIDDEN, False)
    else:
        fast_forward(page, 15, step=3)
    expect(message).to_have_text(BUTTERCUP)
    expect(page.locator(".wr-unicorn-label")).to_have_text(["Buttercup"])
    expect(page.get_by_role("button", name="Cancel ride")).to_be_visible()
    expect(page.get_by_role("link", name="Receipt")).to_be_hidden()
    if how == "shown again":
        screenshots(page, "ride-finished-tab-follows-a-ride-booked-elsewhere")
        page.set_viewport_size(PHONE)

    since = len(poll_times(page))
    fast_forward(page, 20)  # past this tab's next check for a ride booked elsewhere
    times = poll_times(page, since)
    assert len(times) >= 4 and min(gaps(times)) >= 2_000, gaps(times)
    expect(message).to_have_text(BUTTERCUP)


def test_a_hidden_tab_whose_polls_fail_backs_off_and_recovers_when_shown(
    new_page, sign_in, shadowfax
):
    """In the background with the network down: polls come less and less often, never more
    often than a background tab's 15 s. Shown again, the page asks at once and, answered,
    shows the ride without the notice."""
    page = on_a_ride_with_polls_on_a_held_clock(new_page, sign_in)
    status = page.locator("[data-ride-status]")
    since = len(poll_times(page))
    page.evaluate(SET_HIDDEN, True)  # the rider switches to another tab
    page.evaluate("window.__pollPlan.push(...Array(30).fill('fail'))")  # the network drops

    fast_forward(page, 240, step=2)
    times = poll_times(page, since)
    assert len(times) >= 3, times
    assert min(gaps(times)) >= 15_000 and gaps(times) == sorted(gaps(times)), gaps(times)
    expect(status).to_have_text(LOST_TOUCH)  # nothing for the rider to try again

    page.evaluate("window.__pollPlan.length = 0")  # the network is back
    page.evaluate(SET_HIDDEN, False)  # and so is the rider
    expect(status).to_be_empty(timeout=2_000)
    assert len(poll_times(page, since)) == len(times) + 1
    expect(page.locator("[data-ride-message]")).to_have_text(ON_HIS_WAY)
    expect(page.locator("[data-ride-eta]")).to_have_text(re.compile(r"^\d+ min \d\d s$"))


SESSION_ENDED = "Your session has ended. Sign in again"


def assert_signed_in_again(page):
    """No "Sign in again" anywhere (the ride card, the banner, the header): the header is the
    signed-in rider's again."""
    expect(page.locator("[data-sign-in-again]")).to_have_count(0)
    expect(page.locator("[data-site-status]")).to_be_empty()
    expect(page.locator(".nav-account [data-sign-out]")).to_have_count(1)


def test_a_finished_tab_that_follows_a_ride_drops_the_notice_of_its_ended_session(
    new_page, sign_in, shadowfax
):
    """The finished ride's tab checks for a ride booked elsewhere while the rider is signed
    out: it says the session ended. Signed in again, the rider books in another tab: this tab
    follows the new ride, and no longer says the session ended (its polls are answered)."""
    rider = UserFactory()
    page = on_a_ride_with_polls_on_a_held_clock(new_page, sign_in, rider)
    message = page.locator("[data-ride-message]")
    status = page.locator("[data-ride-status]")
    page.get_by_role("button", name="Cancel ride").click()
    expect(message).to_have_text("Your ride is cancelled.")

    page.context.clear_cookies()  # the session ends (signed out elsewhere, or it expired)
    fast_forward(page, 15, step=3)
    expect(status).to_have_text(SESSION_ENDED)

    sign_in(page, rider)  # signed in again
    book_buttercup_in_another_tab(page)

    fast_forward(page, 15, step=3)
    expect(message).to_have_text(BUTTERCUP)
    expect(status).to_be_empty()
    assert_signed_in_again(page)
    fast_forward(page, 4)  # answered polls of the new ride say nothing of a session either
    expect(status).to_be_empty()
    expect(message).to_have_text(BUTTERCUP)


def test_a_ride_followed_again_after_signing_in_drops_the_notice_of_its_ended_session(
    new_page, sign_in, shadowfax
):
    """A poll refused because the session ended stops the polls and says so. Signed in again
    (in another tab), back on this one: the page polls at once and, answered, no longer says
    the session ended."""
    rider = UserFactory()
    page = on_a_ride_with_polls_on_a_held_clock(new_page, sign_in, rider)
    status = page.locator("[data-ride-status]")

    page.context.clear_cookies()
    fast_forward(page, 4)
    expect(status).to_have_text(SESSION_ENDED)

    sign_in(page, rider)
    page.evaluate(SET_HIDDEN, True)  # to the other tab, signed in there
    page.evaluate(SET_HIDDEN, False)  # and back
    since = len(poll_times(page))
    fast_forward(page, 4)
    assert len(poll_times(page, since)) >= 1
    expect(status).to_be_empty()
    assert_signed_in_again(page)
    expect(page.locator("[data-ride-message]")).to_have_text(ON_HIS_WAY)
