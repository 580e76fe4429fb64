"""The promo budget is only spent on rides that exist, with the promo service remote.

The promo service here is this project itself, served for real (pytest-django's live
server, on the same database) and called over HTTP with a service key, as another stage
would be: PROMO_SERVICE_URL. A loopback proxy in front of it makes it slow.
"""

import http.client
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from promos import selectors
from promos.models import DiscountAward
from rides.models import Ride
from tests.factories import CampaignFactory, ServiceKeyFactory, UnicornFactory

pytestmark = pytest.mark.django_db(transaction=True)

SEATTLE = {"latitude": 47.6062, "longitude": -122.3321}


@pytest.fixture
def campaign():
    # Every draw wins 50% off; one discount per rider per day.
    return CampaignFactory(tiers=[("0.50", 1)], budget_minor=100_000, daily_cap_per_rider=1)


@pytest.fixture
def remote_promos(settings, live_server):
    # A timeout a busy machine does not reach (at load 11 one booking took 4.6 s; a draw
    # past 0.8 s would book the ride without its discount); the slow service sets its own.
    def use(url=None, timeout=10.0):
        settings.PROMO_SERVICE_URL = url or live_server.url
        settings.PROMO_SERVICE_KEY = ServiceKeyFactory().plain_key
        settings.PROMO_SERVICE_TIMEOUT = timeout

    return use


class SlowProxy:
    """Forwards to the promo service; a draw's answer (or the draw itself) is held until the
    test lets it go (`let_go`), so "late" does not depend on how busy the machine is."""

    def __init__(self, target: str, *, hold_before_forwarding: bool):
        target = urlsplit(target)
        self.held = threading.Event()
        self.finished = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                is_draw = not self.path.endswith("/release/")
                if is_draw and hold_before_forwarding:
                    proxy.held.wait(30)
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                conn.request("POST", self.path, body, dict(self.headers))
                answer = conn.getresponse()
                raw = answer.read()
                if is_draw and not hold_before_forwarding:
                    proxy.held.wait(30)
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except OSError:
                    pass  # the caller gave up waiting
                finally:
                    if is_draw:
                        proxy.finished.set()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def let_go(self):
        self.held.set()

    def close(self):
        self.held.set()
        self.server.shutdown()
        self.server.server_close()


def book(client):
    return client.post("/api/rides/", {"pickup": SEATTLE}, format="json")


def spent(campaign) -> int:
    return selectors.budget_spent_minor(campaign.pk)


def test_a_ride_that_gets_its_remote_discount_spends_the_budget(remote_promos, campaign, rider_api):
    remote_promos()
    UnicornFactory()
    ride = book(rider_api).json()
    assert ride["discount_multiplier"] == "0.50"
    award = DiscountAward.objects.get()
    assert str(award.ride_id) == ride["id"] and award.released_at is None
    assert spent(campaign) == 625


def test_with_the_fleet_empty_the_award_is_released(remote_promos, campaign, rider_api, rider):
    remote_promos()
    assert book(rider_api).status_code == 503
    award = DiscountAward.objects.get()  # the remote service drew it, then took it back
    assert award.multiplier < 1 and award.released_at is not None
    assert spent(campaign) == 0
    won = selectors.discounts_won_today(campaign=campaign, username=rider.email, at=timezone.now())
    assert won == 0
    # The daily cap (1) is still free: the next ride that exists gets the discount.
    UnicornFactory()
    assert book(rider_api).json()["discount_multiplier"] == "0.50"
    assert spent(campaign) == 625


def test_refused_requests_spend_nothing(remote_promos, campaign, rider_api):
    remote_promos()
    for _ in range(12):
        assert book(rider_api).status_code == 503
    assert not DiscountAward.objects.filter(released_at__isnull=True).exists()
    assert spent(campaign) == 0
    assert not Ride.objects.exists()


def test_a_second_active_ride_refused_by_the_database_releases_its_award(
    remote_promos, campaign, rider_api
):
    """The race the one-active-ride constraint settles: the loser's award goes back. (A
    ride request reads nothing before booking, so any second request meets the constraint.)"""
    remote_promos()
    UnicornFactory.create_batch(2)
    assert book(rider_api).status_code == 201
    refused = book(rider_api)
    assert refused.status_code == 409
    assert Ride.objects.count() == 1
    assert spent(campaign) == 625  # the booked ride's discount only
    assert DiscountAward.objects.filter(released_at__isnull=False).count() == 1


@pytest.mark.parametrize("hold_before_forwarding", [False, True], ids=["late answer", "late draw"])
def test_a_slow_promo_service_spends_nothing_on_a_ride_booked_without_it(
    remote_promos, live_server, campaign, rider_api, hold_before_forwarding
):
    """The rider is booked at 1.00 after the timeout; the award the slow service records
    (before or after the release reaches it) is released."""
    proxy = SlowProxy(live_server.url, hold_before_forwarding=hold_before_forwarding)
    try:
        remote_promos(url=proxy.url, timeout=0.3)
        UnicornFactory()
        ride = book(rider_api).json()
        assert not proxy.finished.is_set()  # booked without the service's answer
        assert ride["discount_multiplier"] == "1.00"
        proxy.let_go()
        assert proxy.finished.wait(10)
        award = wait_for(lambda: DiscountAward.objects.filter(ride_id=ride["id"]).first())
        assert wait_for(lambda: DiscountAward.objects.get(pk=award.pk).released_at)
    finally:
        proxy.close()
    assert spent(campaign) == 0


def wait_for(read, seconds: float = 10):
    """`read()` once it is truthy: the late draw and its release commit on the server's
    own threads."""
    deadline = time.monotonic() + seconds
    while not (found := read()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return found


def test_with_the_service_down_the_ride_is_booked_and_nothing_is_spent(
    remote_promos, campaign, rider_api
):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    remote_promos(url=closed)
    UnicornFactory()
    ride = book(rider_api).json()
    assert ride["discount_multiplier"] == "1.00"
    assert not DiscountAward.objects.exists()
    assert spent(campaign) == 0
