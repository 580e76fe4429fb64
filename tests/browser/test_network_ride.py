"""The ride page as AWS and a phone's network treat it: API Gateway's own answers (not the
API's {"detail": ...}: 429 "Too Many Requests" when the stage is throttled, 403 "Forbidden",
502 "Internal server error" when the function crashed, 504 "Endpoint request timed out"
after 29 s while the function goes on), an answer cut off on the way, a request that hangs,
the browser going offline mid-ride and coming back. The route stands in for the gateway:
it answers instead of the server, or lets the server do the work and answers in its place.

What the rider must see each time: a sentence a person understands (never the gateway's
words, raw JSON, "undefined" or "[object Object]"), a page still usable, one ride booked."""

import json
import re

from django.conf import settings
from playwright.sync_api import expect

from rides.models import Ride
from tests.browser.support import (
    BROWSER,
    DESKTOP,
    PHONE,
    SCREENSHOTS_WANTED,
    open_ride_page,
    screenshot,
    set_pickup_at_the_centre,
    tap_the_map,
)
from tests.factories import UnicornFactory, UserFactory

pytestmark = BROWSER

LAT, LNG = settings.CITY_CENTER
ON_HIS_WAY = "Shadowfax, your white unicorn, is on his way."
RIDES = re.compile(r"/api/rides/$")
RIDE = re.compile(r"/api/rides/[0-9a-f-]{36}/$")

SERVER_PROBLEM = "Something went wrong on our side. Please try again in a moment."
TOO_BUSY = "Wild Rydes is very busy right now. Please try again in a moment."
REFUSED = "Wild Rydes could not take this request. Reload the page and try again."
NO_ANSWER = "We could not reach Wild Rydes. Check your connection and try again."
LOST_TOUCH = (
    "We cannot reach Wild Rydes right now: what you see may be out of date. We keep trying."
)

# API Gateway's own bodies (what it answers without the function's say).
GATEWAY = {
    429: {"message": "Too Many Requests"},
    403: {"message": "Forbidden"},
    502: {"message": "Internal server error"},
    504: {"message": "Endpoint request timed out"},
}
# Words a rider must never be shown: the gateway's, JSON's, JavaScript's.
RAW = re.compile(
    r"Too Many Requests|Forbidden|Internal server error|Endpoint request timed out"
    r'|undefined|\[object Object\]|\{|"message"|\bnull\b|NaN'
)

# Ride GETs (polls) in flight, counted, so that the test moves the page's clock only between
# them (a poll's answer comes in real time, and the page schedules the next from it).
COUNTED_POLLS = """
(() => {
  const realFetch = window.fetch;
  const polls = (window.__polls = { inFlight: 0 });
  const ridePoll = /\\/api\\/rides\\/[0-9a-f-]{36}\\/$/;
  window.fetch = async (url, init = {}) => {
    const isPoll = (init.method ?? "GET") === "GET" && ridePoll.test(String(url));
    if (!isPoll) return realFetch(url, init);
    polls.inFlight += 1;
    try {
      return await realFetch(url, init);
    } finally {
      polls.inFlight -= 1;
    }
  };
})();
"""


def gateway(route, status):
    route.fulfill(status=status, content_type="application/json", body=json.dumps(GATEWAY[status]))


def fast_forward(page, seconds, step=2):
    for _ in range(0, seconds, step):
        page.wait_for_function("() => window.__polls.inFlight === 0")
        page.clock.fast_forward(step * 1_000)


def assert_said_plainly(page):
    text = page.locator("main").inner_text()
    assert not RAW.search(text), RAW.search(text)


def screenshots(page, name):
    """At phone and desktop sizes, when screenshots are wanted; back at phone size after."""
    if not SCREENSHOTS_WANTED:
        return
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.wait_for_timeout(400)  # the map fitted again to its new size
        screenshot(page, f"{name}-{size}")


def test_a_booking_through_a_failing_gateway_is_said_plainly_and_books_one_ride(new_page, sign_in):
    UnicornFactory(
        name="Shadowfax", color="white", gender="male", latitude=LAT + 0.027, longitude=LNG
    )
    page = new_page(PHONE)
    sign_in(page, UserFactory())
    open_ride_page(page)
    set_pickup_at_the_centre(page)
    request = page.locator("[data-request]")
    status = page.locator("[data-ride-status]")
    pickup = page.locator("[data-pickup-text]")
    keys, plan, held = [], [], []

    def the_gateway(route):
        if route.request.method != "POST":
            return route.continue_()
        keys.append(route.request.headers.get("idempotency-key"))
        answer = plan.pop(0) if plan else None
        if isinstance(answer, int):  # the gateway answers, the function never ran
            gateway(route, answer)
        elif answer == "hang":
            held.append(route)
        elif answer == "cut off":  # booked (or replayed); the answer breaks off on the way
            body = route.fetch().text()
            route.fulfill(status=201, content_type="application/json", body=body[: len(body) // 2])
        else:
            route.continue_()

    page.route(RIDES, the_gateway)

    # Offline, the rider sets a drop-off: no fare, said. Back online: the fare comes, the
    # notice goes (it stayed until the rider moved a pin again).
    page.context.set_offline(True)
    tap_the_map(page, right=100, up=60)
    expect(status).to_have_text(NO_ANSWER)
    expect(page.locator("[data-estimate-detail]")).to_have_text("No estimate right now.")
    page.context.set_offline(False)
    expect(page.locator("[data-estimate-detail]")).to_contain_text("km trip")
    expect(status).to_be_empty()

    # Answered by the gateway alone: said in the rider's words, nothing booked, try again.
    for answer, sentence in ((429, TOO_BUSY), (403, REFUSED), (502, SERVER_PROBLEM)):
        plan.append(answer)
        request.click()
        expect(status).to_have_text(sentence)
        expect(request).to_have_text("Request a unicorn")
        expect(request).to_be_enabled()
        assert_said_plainly(page)
        if answer == 429:
            screenshots(page, "network-ride-throttled")
    assert Ride.objects.count() == 0

    # A request that hangs: the rider taps the map elsewhere and presses again. The trip being
    # booked stays as it is and no second request leaves (it once did, with another key).
    plan.append("hang")
    request.click()
    expect(request).to_have_text("Finding your unicorn\u2026")
    where = pickup.inner_text()
    tap_the_map(page, right=60, up=-40)
    expect(pickup).to_have_text(where)
    expect(request).to_be_disabled()
    expect(page.locator("[data-hint]")).to_have_text(re.compile(r"^Booking this trip"))
    expect(page.get_by_role("button", name="Use map centre")).to_be_disabled()
    screenshots(page, "network-ride-booking-on-its-way")
    request.click(force=True)
    page.wait_for_timeout(300)
    assert len(keys) == 4, keys

    # The function books; API Gateway gave up waiting (29 s) and says 504.
    held[0].fetch()
    gateway(held[0], 504)
    expect(status).to_have_text(SERVER_PROBLEM)
    assert_said_plainly(page)
    assert Ride.objects.count() == 1

    # The retry's answer (the ride, replayed for its key) is cut off on the way: no answer.
    plan.append("cut off")
    request.click()
    expect(status).to_have_text(NO_ANSWER)
    expect(request).to_be_enabled()
    assert_said_plainly(page)

    request.click()  # and again: the one ride, shown
    expect(page.locator("[data-ride-message]")).to_have_text(ON_HIS_WAY)
    expect(status).to_be_empty()
    assert Ride.objects.count() == 1
    # The 429 and 403 never reached the function: new keys after them. From the 502 on, the
    # request may have booked: one key for all its retries.
    assert len(keys) == 6 and len(set(keys[2:])) == 1 and keys[2] not in keys[:2], keys


def test_a_ride_followed_offline_and_through_the_gateways_failures(new_page, sign_in):
    UnicornFactory(
        name="Shadowfax", color="white", gender="male", latitude=LAT + 0.027, longitude=LNG
    )
    page = new_page(PHONE)
    page.add_init_script(COUNTED_POLLS)
    page.clock.install()
    sign_in(page, UserFactory())
    open_ride_page(page)
    set_pickup_at_the_centre(page)
    page.locator("[data-request]").click()
    message = page.locator("[data-ride-message]")
    status = page.locator("[data-ride-status]")
    expect(message).to_have_text(ON_HIS_WAY)

    # Reloaded while the gateway throttles the look for a ride under way: the planner shows,
    # and the ride comes back within seconds (the next look was 15 s away).
    throttled = []

    def throttle_the_first_look(route):
        if route.request.method == "GET" and not throttled:
            throttled.append(route)
            return gateway(route, 429)
        route.continue_()

    page.route(RIDES, throttle_the_first_look)
    page.reload()
    page.locator("[data-map-ready]").wait_for(state="attached")
    expect(page.locator("[data-request]")).to_be_visible()
    fast_forward(page, 6)
    expect(message).to_have_text(ON_HIS_WAY)
    page.unroute(RIDES)

    # The gateway refuses the polls (throttled, forbidden): the page keeps trying, and says
    # so, not "reload the page" nor "try again" (nothing for the rider to do).
    answers = iter([429, 403, 403, 403])
    page.route(RIDE, lambda route: gateway(route, next(answers, 403)))
    fast_forward(page, 8)
    expect(status).to_have_text(LOST_TOUCH)
    assert_said_plainly(page)
    page.unroute(RIDE)
    fast_forward(page, 16)
    expect(status).to_be_empty()

    # Offline for a minute (a tunnel): the polls fail further and further apart (up to 30 s).
    page.context.set_offline(True)
    fast_forward(page, 62)
    expect(status).to_have_text(LOST_TOUCH)
    # Back online: the page asks at once, not at its next poll (up to 30 s later).
    page.context.set_offline(False)
    expect(status).to_be_empty(timeout=3_000)
    expect(message).to_have_text(ON_HIS_WAY)
    screenshots(page, "network-ride-back-online")

    # The rider cancels; the function cancels, the gateway stopped waiting and says 504. The
    # ride is cancelled: said, without an error that asks to try again.
    def cancelled_but_timed_out(route):
        route.fetch()
        gateway(route, 504)

    page.route(re.compile(r"/cancel/$"), cancelled_but_timed_out)
    page.get_by_role("button", name="Cancel ride").click()
    expect(message).to_have_text("Your ride is cancelled.")
    expect(page.locator("[data-ride-detail]")).to_have_text("You were not charged.")
    expect(status).to_be_empty()
    assert_said_plainly(page)
    screenshots(page, "network-ride-cancelled-through-a-timeout")
    assert Ride.objects.get().status == Ride.Status.CANCELLED
