"""Someone who knows a rider's e-mail cannot keep the rider from signing in.

The per-e-mail sign-in limit (AUTH_THROTTLE_RATE_PER_EMAIL, 10 a minute) counted every try
for an address, from anyone: 10 wrong passwords a minute from one host, forever, and the
rider typing the right password on their own phone was answered 429 for as long as the
attacker kept going. It now counts per e-mail and client address, so a host spends only
its own budget; a looser limit per e-mail from all clients together
(AUTH_THROTTLE_RATE_PER_EMAIL_ALL_CLIENTS, 50 a minute) still slows a guesser spread over
many hosts, and counts only the tries a client's own budget let through, so one host
cannot spend it (it can count at most twice its own limit in any minute: 20 < 50).

These tests run the shipped rates (README, Limits), through the API as a phone calls it;
the client address is REMOTE_ADDR, which on AWS the Lambda entry point takes from API
Gateway's sourceIp (`wildrydes.aws_lambda.keep_only_api_gateways_source_ip`).
"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db.models import F
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import AttemptCounter
from tests.accounts.limits import assert_refused_with_a_sentence
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "/api/auth/token/"
ATTACKER = "203.0.113.66"
RIDERS_PHONE = "198.51.100.23"


def guess(email: str, n: int, address: str = ATTACKER, **extra):
    body = {"email": email, "password": f"wrong-guess-{n}"}
    return APIClient(REMOTE_ADDR=address).post(TOKEN, body, **extra)


def sign_in(email: str, address: str = RIDERS_PHONE):
    return APIClient(REMOTE_ADDR=address).post(TOKEN, {"email": email, "password": PASSWORD})


def a_minute_passes() -> None:
    """Every counter's window ends (as they would a minute later)."""
    AttemptCounter.objects.update(window_start=F("window_start") - timedelta(seconds=61))


def test_the_rider_signs_in_while_an_attacker_guesses_from_another_address():
    rider = UserFactory(email="rider@example.com")

    codes = [guess(rider.email, n).status_code for n in range(10)]
    assert codes == [400] * 10  # wrong password
    assert_refused_with_a_sentence(guess(rider.email, 10))  # the 11th in the minute: still refused
    for n in range(11, 40):  # the attacker keeps going
        assert guess(rider.email, n).status_code == 429

    response = sign_in(rider.email)
    assert response.status_code == 200
    assert response.json()["token"]


def test_the_attacker_is_refused_every_minute_and_the_rider_signs_in_every_minute():
    """'Forever': minute after minute, the attacker gets 10 guesses and the rider gets in."""
    rider = UserFactory(email="rider@example.com")
    for minute in range(3):
        codes = [guess(rider.email, n).status_code for n in range(12)]
        assert codes == [400] * 10 + [429] * 2, f"minute {minute}"
        assert sign_in(rider.email).status_code == 200, f"minute {minute}"
        a_minute_passes()


def test_the_right_password_from_the_attackers_address_is_refused_too():
    """The limit is checked before the password: a refused try tells nothing about it."""
    rider = UserFactory(email="rider@example.com")
    for n in range(10):
        guess(rider.email, n)
    assert_refused_with_a_sentence(sign_in(rider.email, address=ATTACKER))


SPELLINGS = [
    "RIDER@EXAMPLE.COM",  # case
    "  rider@example.com\t",  # surrounding spaces
    "\uff52\uff49\uff44\uff45\uff52@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com",  # full-width
    "r\u0131der@example.com",  # dotless i
    "rider@exa\u200dmple.com",  # a zero-width joiner in the domain (mail drops it)
    '"rider"@example.com',  # quoted, as the mail server reads it
    "rider@example\u3002com",  # ideographic full stop
]


def test_no_spelling_of_the_address_buys_the_attacker_a_fresh_budget():
    rider = UserFactory(email="rider@example.com")
    codes = [guess(SPELLINGS[n % len(SPELLINGS)], n).status_code for n in range(10)]
    assert codes == [400] * 10
    for n, spelling in enumerate(SPELLINGS):
        assert_refused_with_a_sentence(guess(spelling, 100 + n))
    assert sign_in(rider.email).status_code == 200


@pytest.mark.parametrize(
    "addresses",
    [
        # An IPv6 host picks any address in its /64 (privacy addresses): one budget.
        [f"2001:db8:1:2::{n:x}" for n in range(1, 12)],
        # A home's IPv6 subscriber: 256 networks of /64 in its delegated /56, one budget.
        [f"2001:db8:1:2{n:02x}::1" for n in range(11)],
        # An IPv4 address, and the same address IPv4-mapped.
        ["192.0.2.9", "::ffff:192.0.2.9"] * 6,
    ],
    ids=["ipv6-one-network", "ipv6-one-subscriber", "ipv4-mapped"],
)
def test_another_address_of_the_same_host_buys_no_fresh_budget(addresses):
    rider = UserFactory(email="rider@example.com")
    codes = [guess(rider.email, n, address=a).status_code for n, a in enumerate(addresses)]
    assert codes[:10] == [400] * 10
    assert set(codes[10:]) == {429}
    assert sign_in(rider.email).status_code == 200


def test_a_forged_x_forwarded_for_buys_no_fresh_budget():
    """Only REMOTE_ADDR counts (on AWS: API Gateway's sourceIp), never what a caller writes."""
    rider = UserFactory(email="rider@example.com")
    codes = [
        guess(rider.email, n, HTTP_X_FORWARDED_FOR=f"10.{n}.0.1, {ATTACKER}").status_code
        for n in range(11)
    ]
    assert codes == [400] * 10 + [429]


def test_guessing_from_many_addresses_is_slowed_by_the_limit_for_all_clients():
    """A guesser spread over many hosts still gets at most 50 tries a minute at an address
    (AUTH_THROTTLE_RATE_PER_EMAIL_ALL_CLIENTS). While it lasts, the rider is refused too:
    slowing such a guesser at all means refusing tries nobody can tell from the rider's."""
    rider = UserFactory(email="rider@example.com")
    codes = [guess(rider.email, n, address=f"10.66.{n}.1").status_code for n in range(50)]
    assert codes == [400] * 50
    assert_refused_with_a_sentence(guess(rider.email, 50, address="10.66.50.1"))
    assert_refused_with_a_sentence(sign_in(rider.email))

    a_minute_passes()
    assert sign_in(rider.email).status_code == 200


def test_tries_a_host_is_refused_do_not_spend_the_limit_for_all_clients():
    """A host hammering an address (its 11th try and on, refused) counts nothing more
    towards the all-clients limit: after 1,000 such tries, 40 other hosts still get their
    tries, and the rider from their phone gets in."""
    rider = UserFactory(email="rider@example.com")
    for n in range(10):
        guess(rider.email, n)
    for n in range(10, 70):
        assert guess(rider.email, n).status_code == 429
    codes = [guess(rider.email, n, address=f"10.66.{n}.1").status_code for n in range(39)]
    assert codes == [400] * 39
    assert sign_in(rider.email).status_code == 200  # the 50th counted try


def test_one_host_alone_cannot_reach_the_limit_for_all_clients():
    """The shipped rates: whatever a host does, it counts at most twice its own limit in
    any period (two of its windows overlap one window of the all-clients limit)."""
    from rest_framework.throttling import SimpleRateThrottle

    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    per_client = SimpleRateThrottle.parse_rate(None, rates["auth_email_client"])
    all_clients = SimpleRateThrottle.parse_rate(None, rates["auth_email"])
    assert per_client[1] == all_clients[1]
    assert 2 * per_client[0] < all_clients[0]


def test_the_admin_sign_in_page_keeps_the_staff_member_in_too():
    """The admin's sign-in page counts in the same budgets, so the same holds there."""
    operator = UserFactory(email="operator@example.com", is_staff=True)
    for n in range(10):
        guess(operator.email, n)
    assert_refused_with_a_sentence(guess(operator.email, 10))
    browser = Client(REMOTE_ADDR=RIDERS_PHONE)
    response = browser.post(
        "/admin/login/?next=/admin/",
        {"username": operator.email, "password": PASSWORD, "next": "/admin/"},
    )
    assert response.status_code == 302
    assert browser.get("/admin/").status_code == 200


def test_the_rider_changes_their_password_while_an_attacker_guesses():
    """Password change counts the current password in the account's budget: the
    attacker's sign-in guesses from another address do not spend the rider's."""
    rider = UserFactory(email="rider@example.com")
    token = sign_in(rider.email).json()["token"]
    for n in range(11):
        guess(rider.email, n)
    phone = APIClient(REMOTE_ADDR=RIDERS_PHONE)
    phone.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    body = {"current_password": PASSWORD, "new_password": "a-brand-new-secret-77"}
    assert phone.post("/api/auth/password/change/", body).status_code == 200


def test_an_operator_clears_the_limits_a_rider_spent_from_their_own_phone(client):
    """A rider who typed the wrong password 11 times is refused from their phone; the
    operator's "clear attempt limits" clears the e-mail's budgets from every client."""
    rider = UserFactory(email="rider@example.com")
    for n in range(11):
        guess(rider.email, n, address=RIDERS_PHONE)
    assert_refused_with_a_sentence(sign_in(rider.email))

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    client.post(
        "/admin/accounts/user/",
        {"action": "clear_attempt_limits", "_selected_action": [rider.pk]},
    )

    assert sign_in(rider.email).status_code == 200
