"""A per-address limit counts a caller once, whichever form of its address it arrives with.

An IPv6 host picks any address of its /64 network at will (privacy addresses: a new one
per connection if it likes), so a limit per single IPv6 address is a fresh limit per
request. The limits count an IPv6 caller by its /64, and an IPv4-mapped IPv6 address as the
IPv4 address it is. (API Gateway serves IPv6 callers once a stage's API is dualstack.)
"""

import pytest
from rest_framework.test import APIClient

from accounts.throttles import (
    AuthAttemptsPerAddress,
    AuthAttemptsPerEmail,
    UnicornApplicationsPerAddress,
)
from rides.models import UnicornApplication

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_a_minute(monkeypatch):
    monkeypatch.setattr(
        AuthAttemptsPerAddress, "THROTTLE_RATES", {"auth_address": "3/minute"}, raising=False
    )
    monkeypatch.setattr(
        AuthAttemptsPerEmail, "THROTTLE_RATES", {"auth_email": "100/minute"}, raising=False
    )


def guess_from(address: str, n: int) -> int:
    body = {"email": f"victim{n}@example.com", "password": "spring-2026-password"}
    return APIClient(REMOTE_ADDR=address).post("/api/auth/token/", body).status_code


def test_password_spraying_from_one_ipv6_network_hits_the_address_limit(three_a_minute):
    # One host, a new address of its /64 for every guess, each at another account.
    addresses = ["2001:db8:1:2::1", "2001:db8:1:2:aaaa::7", "2001:db8:1:2:ffff:1:2:3"]
    addresses.append("2001:DB8:1:2:0:0:0:9")  # the same network, written another way
    statuses = [guess_from(address, n) for n, address in enumerate(addresses)]
    assert statuses == [400, 400, 400, 429]
    # Another network (another subscriber) has its own limit.
    assert guess_from("2001:db8:1:3::1", 9) == 400


def test_an_ipv4_mapped_address_is_the_ipv4_caller(three_a_minute):
    statuses = [guess_from("203.0.113.7", n) for n in range(3)]
    statuses.append(guess_from("::ffff:203.0.113.7", 3))
    assert statuses == [400, 400, 400, 429]
    assert guess_from("203.0.113.8", 4) == 400


def test_unicorn_applications_count_an_ipv6_network_once(monkeypatch):
    monkeypatch.setattr(
        UnicornApplicationsPerAddress,
        "THROTTLE_RATES",
        {**UnicornApplicationsPerAddress.THROTTLE_RATES, "unicorn_applications": "2/hour"},
    )
    application = {"name": "Glimmer", "color": "silver", "gender": "female"}
    statuses = [
        APIClient(REMOTE_ADDR=f"2001:db8:7:7::{n + 1}")
        .post("/api/unicorn-applications/", {**application, "email": f"g{n}@example.com"})
        .status_code
        for n in range(3)
    ]
    assert statuses == [201, 201, 429]
    assert UnicornApplication.objects.count() == 2
