"""Browser sessions: Django's, kept in the database (signing out ends them on the server).

One change: a cookie whose key holds a NUL is no session. Django makes keys of letters and
digits only; PostgreSQL's text cannot hold a NUL, so looking such a key up failed with a 500
on every page. Set as SESSION_ENGINE.
"""

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key):
        return super()._validate_session_key(key) and "\x00" not in key
