"""Slow down password, token and confirmation-code guessing.

Limits per endpoint: per client address, and per e-mail address tried, which is two
counts (`AuthAttemptsPerEmail`): the e-mail from this client address (strict: 10 a minute),
then the e-mail from all clients together (looser: 50 a minute), counted only for a try the
first let through. So a host that knows a rider's e-mail spends only its own budget for it
and the rider signs in from their phone meanwhile (the per-e-mail limit used to count every
try from anyone: 10 wrong passwords a minute from one host kept the rider out for as long
as it went on), while guesses spread over many hosts still hit the account's limit. One
host counts at most twice its own limit in any period towards the all-clients limit (two
of its windows can overlap one of that limit's), out of reach of the default.

Every try is counted, before the password is checked (a failure-only count would have to
count after the check, and concurrent tries could slip past it); a rider's own sign-ins
spend their own budget, far from its limit. A right password is not let past the
all-clients limit for a client that has not failed: every fresh host of a spread-out
guesser is such a client, so that would give it one uncounted guess per host.

The e-mail is counted in its canonical form (`accounts.models.canonical_email`), the same
form the database stores and matches exactly, so dotless-i, full-width or upper-case
spellings spend the same account's budget.

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

import hashlib
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

    def key(self, identity) -> str:
        return attempt_key(self.scope, identity)

    def get_cache_key(self, request, view):
        ident = self.identity(request)
        return None if ident is None else self.key(ident)

    def allow_request(self, request, view):
        return self.allow(self.identity(request))

    def allow(self, identity: str | None) -> bool:
        """Count one attempt of `identity`; False once its window's limit is spent.

        The wait is at most the period. `count_attempt` measures it from the clock it read
        before its statement, which can wait for the counter's row while another try
        begins a new window (a later clock than this one): this try counts in that window,
        and "its end minus my clock" was over the period: "Try again in 61 seconds."
        (Retry-After: 61) from a per-minute limit, in 3 of 14 runs of 20-30 tries at once
        (tests/accounts/test_limits_hold_under_concurrent_tries.py). That window began no
        later than this statement ran, so it ends within a period of now.
        """
        self._retry_after = None
        if self.rate is None or identity is None:
            return True
        key = self.key(identity)
        attempt = count_attempt(key, limit=self.num_requests, period=self.duration)
        if attempt.allowed:
            return True
        self._retry_after = min(attempt.retry_after, self.duration)
        return False

    def wait(self):
        return self._retry_after


def client_address(request, *, ipv6_prefix: int = 64) -> str:
    """REMOTE_ADDR as the per-address limits count it.

    An IPv6 address counts as its /64 network (`ipv6_prefix`): inside it a host picks any
    of 2**64 addresses at will (privacy addresses), so counting single addresses would
    give a caller a fresh limit per request. An IPv4-mapped IPv6 address
    (::ffff:203.0.113.7) is its IPv4 address; a zone (%eth0) is dropped; other text (not an
    address) is counted as written.
    """
    raw = request.META.get("REMOTE_ADDR") or ""
    try:
        address = ipaddress.ip_address(raw.split("%", 1)[0])
    except ValueError:
        return raw or "unknown"
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/{ipv6_prefix}", strict=False))
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


# A home's IPv6: its router is delegated a /56 (256 networks of /64). Counted per /64, one
# subscriber spent the all-clients limit of an e-mail alone (5 of its networks x 10 tries).
SUBSCRIBER_IPV6_PREFIX = 56


def subscriber_address(request) -> str:
    """`client_address`, an IPv6 client counted as its subscriber's /56: for the tries at
    one e-mail from one client, so one subscriber spends at most that limit of the e-mail's
    all-clients one, as one IPv4 address does. Only there: the limits per address alone
    keep the /64, where a /56 of a mobile network would put strangers in one budget."""
    return client_address(request, ipv6_prefix=SUBSCRIBER_IPV6_PREFIX)


class AuthAttemptsPerEmailFromClient(CountedRateThrottle):
    """Tries at one e-mail address from one client (AUTH_THROTTLE_RATE_PER_EMAIL); counted
    by `AuthAttemptsPerEmail`, first. The identity is (e-mail, `subscriber_address`)."""

    scope = "auth_email_client"

    def identity(self, request):
        email = email_of(request)
        return None if email is None else (email, subscriber_address(request))

    def key(self, identity) -> str:
        """The e-mail's prefix (`from_client_key_prefix`), then the client's hash: 123
        characters, and all of an e-mail's counters found (and cleared) by the prefix."""
        email, client = identity
        digest = hashlib.sha256(client.encode("utf-8", "surrogatepass")).hexdigest()
        return from_client_key_prefix(email) + digest[:40]


def from_client_key_prefix(email: str) -> str:
    """What every per-client counter of a canonical e-mail's key starts with."""
    return attempt_key(AuthAttemptsPerEmailFromClient.scope, email) + ":"


class AuthAttemptsPerEmail(CountedRateThrottle):
    """Tries at one e-mail address: from this client address (`AuthAttemptsPerEmailFromClient`),
    then, if that allowed the try, from all clients together (this scope,
    AUTH_THROTTLE_RATE_PER_EMAIL_ALL_CLIENTS). A try one client's budget refuses is not
    counted in the all-clients one, so no single host can spend it for everyone."""

    scope = "auth_email"

    def email(self, request) -> str | None:
        return email_of(request)

    def identity(self, request):
        return self.email(request)

    def allow_request(self, request, view):
        return self.allow_email(self.email(request), subscriber_address(request))

    def allow_email(self, email: str | None, client: str) -> bool:
        """Count one try at `email` from `client`; False once either budget is spent."""
        if email is None:
            return self.allow(None)
        from_client = AuthAttemptsPerEmailFromClient()
        if not from_client.allow((email, client)):
            self._retry_after = from_client.wait()
            return False
        return self.allow(email)


class AuthAttemptsPerAccount(AuthAttemptsPerEmail):
    """For a signed-in person's password checks (change, delete): their account's e-mail,
    the same budgets as sign-in guesses on that address."""

    def email(self, request):
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
    API's own budgets: per client address and per canonical e-mail (from this client, then
    from all). None while they allow it; else the seconds to wait (the address and the
    e-mail are both counted either way, as DRF counts them)."""
    waits = []
    per_email = canonical_email(email) if isinstance(email, str) else ""
    client = client_address(request)
    per_address = AuthAttemptsPerAddress()
    if not per_address.allow(client):
        waits.append(per_address.wait())
    per_email_throttle = AuthAttemptsPerEmail()
    if not per_email_throttle.allow_email(per_email or None, subscriber_address(request)):
        waits.append(per_email_throttle.wait())
    return math.ceil(max(waits)) if waits else None


ACCOUNT_THROTTLES = [AuthAttemptsPerAddress, AuthAttemptsPerAccount]
