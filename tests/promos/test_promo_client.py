"""The ride's promo client against real HTTP servers on loopback: down, slow, nonsense."""

import json
import socket
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rides import services
from rides.models import Ride
from tests.factories import UnicornFactory

pytestmark = pytest.mark.django_db

SEATTLE = services.Point(47.6062, -122.3321)


def serve(handler_body):
    """Start a loopback HTTP server whose POST handler is `handler_body(handler)`."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            handler_body(self)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def answer(handler, status: int, body: bytes):
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@pytest.fixture
def promo_service(settings):
    servers = []

    def use(handler_body=None, url=None):
        if handler_body is not None:
            server = serve(handler_body)
            servers.append(server)
            url = f"http://127.0.0.1:{server.server_address[1]}"
        settings.PROMO_SERVICE_URL = url
        settings.PROMO_SERVICE_KEY = "test.key"
        settings.PROMO_SERVICE_TIMEOUT = 0.8

    yield use
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def rider_and_unicorn(rider):
    UnicornFactory()
    return rider


def book(rider) -> Ride:
    return services.request_ride(rider=rider, pickup=SEATTLE)


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_remote_discount_is_applied_to_the_fare(promo_service, rider_and_unicorn):
    seen = {}

    def good(handler):
        seen["auth"] = handler.headers["Authorization"]
        body = {"id": 7, "discount_multiplier": "0.75", "campaign": "Unicorn Tuesday",
                "label": "Unicorn Tuesday: 25% off"}  # fmt: skip
        answer(handler, 201, json.dumps(body).encode())

    promo_service(good)
    ride = book(rider_and_unicorn)
    assert ride.discount_multiplier == Decimal("0.75")
    assert ride.fare_minor == round(ride.base_fare_minor * 0.75)
    assert ride.discount_award_id == 7
    assert ride.discount_label == "Unicorn Tuesday: 25% off"
    assert seen["auth"] == "Api-Key test.key"


def test_service_down_books_the_ride_at_one_and_logs_the_ride(
    promo_service, rider_and_unicorn, caplog
):
    promo_service(url=closed_port_url())
    ride = book(rider_and_unicorn)
    assert ride.discount_multiplier == Decimal("1.00")
    assert ride.fare_minor == ride.base_fare_minor
    assert str(ride.id) in caplog.text
    assert "unreachable" in caplog.text


def test_service_that_stalls_is_abandoned_after_the_timeout(
    promo_service, rider_and_unicorn, caplog
):
    stall = 10.0  # far longer than the client waits (two tries of 0.8 s)
    promo_service(lambda handler: time.sleep(stall))
    started = time.monotonic()
    ride = book(rider_and_unicorn)
    elapsed = time.monotonic() - started
    assert ride.discount_multiplier == Decimal("1.00")
    # Booked without the service's answer: the bound leaves room for a loaded machine
    # (2.09 s seen in make test at load 6) and stays far below the stall.
    assert elapsed < stall / 2, f"the ride waited {elapsed:.2f}s for the promo service"
    assert str(ride.id) in caplog.text


@pytest.mark.parametrize(
    "status, body",
    [
        (201, b"<html>oops</html>"),
        (201, b'{"discount_multiplier": "7.5"}'),
        (201, b'{"discount_multiplier": "0"}'),
        (201, b'{"discount_multiplier": "0.333"}'),
        (201, b'{"discount_multiplier": "NaN"}'),
        (201, b'{"id": "x", "discount_multiplier": "0.9"}'),
        # More than the ride can record: was a 500 on PostgreSQL (value too long, integer
        # out of range) and no ride, a longer name or label recorded whole on SQLite.
        (201, b'{"id": 1, "discount_multiplier": "0.9", "campaign": "' + b"C" * 81 + b'"}'),
        (201, b'{"id": 1, "discount_multiplier": "0.9", "label": "' + b"L" * 121 + b'"}'),
        (201, b'{"id": 9223372036854775808, "discount_multiplier": "0.9"}'),
        (201, b"[]"),
        (500, b'{"detail": "boom"}'),
        (200, b'{"discount_multiplier": "0.9"}'),
    ],
)
def test_service_answering_nonsense_books_at_one(
    promo_service, rider_and_unicorn, caplog, status, body
):
    promo_service(lambda handler: answer(handler, status, body))
    ride = book(rider_and_unicorn)
    assert ride.discount_multiplier == Decimal("1.00")
    assert str(ride.id) in caplog.text


def test_one_retry_after_a_dropped_connection(promo_service, rider_and_unicorn):
    calls = []

    def flaky(handler):
        calls.append(1)
        if len(calls) == 1:
            handler.connection.shutdown(socket.SHUT_RDWR)  # reset: no answer at all
            return
        answer(handler, 201, b'{"id": 1, "discount_multiplier": "0.90", "campaign": null}')

    promo_service(flaky)
    ride = book(rider_and_unicorn)
    assert len(calls) == 2
    assert ride.discount_multiplier == Decimal("0.90")
