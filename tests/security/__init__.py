"""Hostile input and access control: the API fuzzed from its schema, the payment-list parser
fuzzed, CSV formula injection, the authorization matrix, transport security headers.

Proven elsewhere, and not repeated here:
- oversize bodies refused before parsing: tests/rides/test_ride_api_bad_input.py
  (test_oversize_body_is_413_before_parsing) and uploads over FILE_UPLOAD_MAX_SIZE:
  tests/payments/test_payment_lists_api.py (test_oversize_upload_is_refused_early);
- sign-in, token, registration and confirmation-code guessing throttled:
  tests/accounts/test_throttling.py; confirmation codes stored hashed and dying after five
  wrong tries: tests/accounts/test_registration_api.py;
- service keys stored hashed (SHA-512, never the key): tests/promos/test_discount_api.py
  (test_service_key_is_stored_hashed);
- CSRF on session-authenticated writes and the security headers (CSP, nosniff,
  Referrer-Policy, frame denial): tests/core/test_security_headers.py;
- `check --deploy` clean for prod: tests/core/test_deploy_settings.py;
- bandit and pip-audit: the static checks of `make test` (tests/run.py).
"""

import os

from hypothesis import HealthCheck, settings

# Fuzz settings: no example database on disk, no deadline (the database is in the loop);
# in CI the examples are derived from the test, so a failure there can be reproduced.
FUZZ = settings(
    database=None,
    deadline=None,
    derandomize=os.environ.get("CI", "").lower() == "true",
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
