"""Slow down password, token and confirmation-code guessing.

Two limits per endpoint: per client address, and per e-mail address tried (so guesses
spread over many addresses still hit the account's limit). The e-mail is counted in its
canonical form (`accounts.models.canonical_email`), the same form the database stores and
matches exactly, so dotless-i, full-width or upper-case spellings spend the same account's budget.

The address is REMOTE_ADDR, never the raw X-Forwarded-For: on AWS, Zappa sets REMOTE_ADDR
to the client address API Gateway saw, while the start of the header is whatever the
caller wrote (a new value per request would buy a new limit). An IPv6 caller counts as its
/64 network, an IPv4-mapped address as its IPv4 one (`client_address`). Both identities are
hashed into the counter's key.

The admin's sign-in page counts in the same budgets as the API's sign-in
(`count_sign_in`), so no door into an account has a limit of its own.

Counts live in the database (`accounts.attempts.count_attempt`), incremented in one
statement: concurrent requests can't slip past the limit as they can with DRF's
read-then-write cache history. Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
(see README).
"""

import ipaddress
import math

from rest_framework.throttling import SimpleRateThrottle

from accounts.attempts import attempt_key, count_attempt
from accounts.models import canonical_email


class CountedRateThrottle(SimpleRateThrottle):
    """A fixed-window rate counted atomically in the database.

    Subclasses say `scope` and `identity(request)`; no identity means not throttled here.
    """

    def identity(self, request) -> str | None:
        raise NotImplementedError

    def get_cache_key(self, request, view):
        ident = self.identity(request)
        return None if ident is None else attempt_key(self.scope, ident)

    def allow_request(self, request, view):
        return self.allow(self.identity(request))

    def allow(self, identity: str | None) -> bool:
        """Count one attempt of `identity`; False once its window's limit is spent."""
        self._retry_after = None
        if self.rate is None or identity is None:
            return True
        key = attempt_key(self.scope, identity)
        attempt = count_attempt(key, limit=self.num_requests, period=self.duration)
        if attempt.allowed:
            return True
        self._retry_after = attempt.retry_after
        return False

    def wait(self):
        return self._retry_after


def client_address(request) -> str:
    """REMOTE_ADDR as the per-address limits count it.

    An IPv6 address counts as its /64 network: that is one subscriber's network, inside
    which a host picks any of 2**64 addresses at will (privacy addresses), so counting
    single addresses would give a caller a fresh limit per request. An IPv4-mapped IPv6
    address (::ffff:203.0.113.7) is its IPv4 address; a zone (%eth0) is dropped; other
    text (not an address) is counted as written.
    """
    raw = request.META.get("REMOTE_ADDR") or ""
    try:
        address = ipaddress.ip_address(raw.split("%", 1)[0])
    except ValueError:
        return raw or "unknown"
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class AuthAttemptsPerAddress(CountedRateThrottle):
    scope = "auth_address"

    def identity(self, request):
        return client_address(request)


def email_of(request) -> str | None:
    """The canonical e-mail a request's body names, or None."""
    data = request.data
    email = data.get("email") if hasattr(data, "get") else None
    if not isinstance(email, str):
        return None
    email = canonical_email(email)
    return email or None


class AuthAttemptsPerEmail(CountedRateThrottle):
    scope = "auth_email"

    def identity(self, request):
        return email_of(request)


class AuthAttemptsPerAccount(CountedRateThrottle):
    """For a signed-in person's password checks (change, delete): their account's e-mail,
    the same budget as sign-in guesses on that address."""

    scope = "auth_email"

    def identity(self, request):
        user = request.user
        if user is None or not getattr(user, "is_authenticated", False):
            return None
        return canonical_email(user.email)


class WritesPerCaller(CountedRateThrottle):
    """Writes (POST, PUT, PATCH, DELETE) per signed-in user or service key; reads are free.

    Anonymous callers are not counted here (the view refuses them anyway)."""

    def allow_request(self, request, view):
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return super().allow_request(request, view)

    def identity(self, request):
        from accounts.permissions import service_key_of

        key = service_key_of(request)
        if key is not None:
            return f"key:{key.pk}"
        user = request.user
        if user is not None and getattr(user, "is_authenticated", False):
            return f"user:{user.pk}"
        return None


class WritesPerAddress(WritesPerCaller):
    """Anonymous writes per client address (`client_address`: see the module's docstring)."""

    def identity(self, request):
        return client_address(request)


class UnicornApplicationsPerAddress(WritesPerAddress):
    scope = "unicorn_applications"


class RideRequestsPerUser(WritesPerCaller):
    scope = "ride_requests"


class PaymentsPerCaller(WritesPerCaller):
    scope = "payments"


class UploadsPerCaller(WritesPerCaller):
    scope = "uploads"


AUTH_THROTTLES = [AuthAttemptsPerAddress, AuthAttemptsPerEmail]


def count_sign_in(request, email) -> int | None:
    """Count a sign-in that does not come through the API (the admin's sign-in page) in the
    API's own budgets: per client address and per canonical e-mail. None while both allow
    it; else the seconds to wait (both are counted either way, as DRF counts them)."""
    waits = []
    per_email = canonical_email(email) if isinstance(email, str) else ""
    for throttle, identity in (
        (AuthAttemptsPerAddress(), client_address(request)),
        (AuthAttemptsPerEmail(), per_email or None),
    ):
        if not throttle.allow(identity):
            waits.append(throttle.wait())
    return math.ceil(max(waits)) if waits else None


ACCOUNT_THROTTLES = [AuthAttemptsPerAddress, AuthAttemptsPerAccount]
