"""Slow down password, token and confirmation-code guessing.

Two limits per endpoint: per client address, and per e-mail address tried (so guesses
spread over many addresses still hit the account's limit).

The address is REMOTE_ADDR, never the raw X-Forwarded-For: on AWS, Zappa sets REMOTE_ADDR
to the client address API Gateway saw, while the start of the header is whatever the
caller wrote (a new value per request would buy a new limit). Both identities are hashed
into the cache key, so any e-mail fits every cache backend (the database cache's key
column holds 255 characters, and drops a write that does not fit: never counted).
"""

import hashlib

from rest_framework.throttling import SimpleRateThrottle


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class AuthAttemptsPerAddress(SimpleRateThrottle):
    scope = "auth_address"

    def get_cache_key(self, request, view):
        address = request.META.get("REMOTE_ADDR") or "unknown"
        return self.cache_format % {"scope": self.scope, "ident": _digest(address)}


class AuthAttemptsPerEmail(SimpleRateThrottle):
    scope = "auth_email"

    def get_cache_key(self, request, view):
        email = request.data.get("email") if hasattr(request.data, "get") else None
        if not isinstance(email, str) or not email.strip():
            return None
        return self.cache_format % {"scope": self.scope, "ident": _digest(email.strip().lower())}


AUTH_THROTTLES = [AuthAttemptsPerAddress, AuthAttemptsPerEmail]
