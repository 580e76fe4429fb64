"""Transport security on the production stage: HSTS, HTTPS only, secure cookies.

The stage's settings are read at import from the environment, so a prod stage runs in a
child process (the environment of tests/core/test_deploy_settings.py) and answers a few
requests through Django's test client there. The other security headers (CSP, nosniff,
Referrer-Policy, frame denial) are proven locally by tests/core/test_security_headers.py;
here they are checked again on prod, on an HTML page (the API docs), next to HSTS.
"""

import json

from tests.core.test_deploy_settings import manage, prod_env

HOST = "abc123.execute-api.us-east-1.amazonaws.com"

PROBE = f"""
import json
from django.conf import settings
from django.test import Client
from django.test.utils import override_settings

# Static files from disk: the stage's S3 manifest needs AWS credentials, not under test here.
override_settings(STORAGES={{**settings.STORAGES, "staticfiles": {{
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}}}).enable()
client = Client(HTTP_HOST="{HOST}")
https = client.get("/api/docs/", HTTP_X_FORWARDED_PROTO="https")
plain = client.get("/api/schema/", HTTP_X_FORWARDED_PROTO="http")
names = ["Strict-Transport-Security", "Content-Security-Policy", "X-Content-Type-Options",
         "Referrer-Policy", "X-Frame-Options"]
print(json.dumps({{
    "https": [https.status_code, {{name: https.headers.get(name) for name in names}}],
    "plain": [plain.status_code, plain.headers.get("Location")],
    "cookies": [settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE,
                settings.SESSION_COOKIE_HTTPONLY],
}}))
"""


def probe(env) -> dict:
    result = manage("shell", "-c", PROBE, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_prod_sends_hsts_and_the_security_headers_over_https():
    seen = probe(prod_env())
    status, headers = seen["https"]
    assert status == 200
    assert headers["Strict-Transport-Security"] == ("max-age=31536000; includeSubDomains; preload")
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"


def test_prod_redirects_plain_http_to_https_and_keeps_cookies_secure():
    seen = probe(prod_env())
    status, location = seen["plain"]
    assert status == 301
    assert location == f"https://{HOST}/api/schema/"
    assert seen["cookies"] == [True, True, True]


def test_a_laptop_gets_no_hsts(client, db):
    """HSTS on localhost would pin every local site to HTTPS in the developer's browser."""
    assert "Strict-Transport-Security" not in client.get("/api/health/").headers
