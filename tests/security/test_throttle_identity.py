"""Who the sign-in throttles count, and the keys they count under.

tests/accounts/test_throttling.py proves the limits themselves; here, that a caller cannot
step around them, and that hostile input cannot break the counter's cache.
"""

import pytest
from django.core.cache import cache
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.throttles import AuthAttemptsPerAddress, AuthAttemptsPerEmail

pytestmark = pytest.mark.django_db


def test_a_forged_x_forwarded_for_does_not_buy_a_fresh_address_limit(low_sign_in_limits):
    """On AWS, Zappa sets REMOTE_ADDR to the address API Gateway saw; the header's start is
    whatever the caller wrote, so rotating it must not reset the per-address count."""
    client = APIClient(REMOTE_ADDR="203.0.113.7")
    codes = [
        client.post(
            "/api/auth/token/",
            {"email": f"victim{n}@example.com", "password": "guess-password"},
            HTTP_X_FORWARDED_FOR=f"10.9.{n}.1, 203.0.113.7",
        ).status_code
        for n in range(7)
    ]
    assert codes[:6] == [400] * 6
    assert codes[6] == 429


HOSTILE_EMAILS = [
    "a" * 250 + "@example.com",
    "name with spaces@example.com",
    "control\x01\x7f@example.com",
    "ünïcødé@exämple.com",
    "x" * 5000,
]


@pytest.mark.parametrize("email", HOSTILE_EMAILS)
def test_throttle_keys_fit_every_cache_backend(rf, email):
    """memcached takes at most 250 printable ASCII characters, the database cache 255."""
    request = rf.post("/api/auth/token/", REMOTE_ADDR="203.0.113.7")
    request.data = {"email": email}
    request.META["HTTP_X_FORWARDED_FOR"] = "1.2.3.4, " * 500
    for throttle in (AuthAttemptsPerEmail(), AuthAttemptsPerAddress()):
        key = throttle.get_cache_key(request, view=None)
        assert len(key) <= 200
        assert key.isascii() and key.isprintable() and " " not in key


def test_same_email_in_another_case_or_padding_counts_as_one(rf):
    keys = set()
    for email in ("Rider@Example.com", " rider@example.com ", "RIDER@EXAMPLE.COM"):
        request = rf.post("/api/auth/token/")
        request.data = {"email": email}
        keys.add(AuthAttemptsPerEmail().get_cache_key(request, view=None))
    assert len(keys) == 1


def test_the_limit_holds_for_a_long_email_on_the_database_cache(settings, low_sign_in_limits):
    """The stage setting the settings module suggests (CACHE_URL=dbcache://...): its key
    column holds 255 characters, which PostgreSQL enforces, and the database cache drops a
    write that fails, so a key too long for it was never counted."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "wildrydes_throttle_test_cache",
        }
    }
    call_command("createcachetable", verbosity=0)
    body = {"email": "a" * 240 + "@example.com", "password": "x" * 12}
    codes = [
        APIClient(REMOTE_ADDR=f"198.51.100.{n}").post("/api/auth/token/", body).status_code
        for n in range(4)
    ]
    assert codes == [400, 400, 400, 429]
    cache.clear()
