"""Slow down password, token and confirmation-code guessing.

Two limits per endpoint: per client address, and per e-mail address tried (so guesses
spread over many addresses still hit the account's limit).
"""

from rest_framework.throttling import SimpleRateThrottle


class AuthAttemptsPerAddress(SimpleRateThrottle):
    scope = "auth_address"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class AuthAttemptsPerEmail(SimpleRateThrottle):
    scope = "auth_email"

    def get_cache_key(self, request, view):
        email = request.data.get("email") if hasattr(request.data, "get") else None
        if not isinstance(email, str) or not email.strip():
            return None
        return self.cache_format % {"scope": self.scope, "ident": email.strip().lower()[:254]}


AUTH_THROTTLES = [AuthAttemptsPerAddress, AuthAttemptsPerEmail]
