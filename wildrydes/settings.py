"""Wild Rydes settings: one module, driven by the environment.

Every value has a safe local default (SQLite, files on disk, console e-mail, in-process
events) so `make run` needs no configuration. An AWS stage sets the environment variables
listed in zappa_settings.json and docs.
"""

import importlib.util
import os
import tempfile
from decimal import Decimal
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# "local" on a laptop and in tests; the Zappa stage name ("dev", "prod") on AWS.
STAGE = env("WILDRYDES_STAGE", default="local")
IS_LOCAL = STAGE == "local"

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# A stage names its key's secret in Secrets Manager (DJANGO_SECRET_ARN, read once at
# start-up: wildrydes/aws_secrets.py) or sets DJANGO_SECRET_KEY; the fallback is a laptop's.
if env("DJANGO_SECRET_ARN", default="") and not env("DJANGO_SECRET_KEY", default=""):
    from wildrydes.aws_secrets import secret_string

    SECRET_KEY = secret_string(env("DJANGO_SECRET_ARN"))
else:
    SECRET_KEY = (
        env("DJANGO_SECRET_KEY", default="local-only-insecure-key-0123456789abcdefghijklmnopqrstuv")
        if IS_LOCAL
        else env("DJANGO_SECRET_KEY")
    )
AWS_REGION = env("AWS_REGION", default="us-east-1")
# A stage answers on its API Gateway host (any *.execute-api.<region>.amazonaws.com), on a
# Lambda Function URL (*.lambda-url.<region>.on.aws) and, when set, on its custom domain.
# Behind a load balancer, name its host in DJANGO_ALLOWED_HOSTS.
CUSTOM_DOMAIN = env("WILDRYDES_CUSTOM_DOMAIN", default="")
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS",
    default=["127.0.0.1", "localhost", "testserver"]
    if IS_LOCAL
    else [
        f".execute-api.{AWS_REGION}.amazonaws.com",
        f".lambda-url.{AWS_REGION}.on.aws",
        *([CUSTOM_DOMAIN] if CUSTOM_DOMAIN else []),
    ],
)
# The site's address for links in e-mails (the receipt page), e.g. "https://rides.example.com"
# or a stage's API Gateway URL with its stage ("https://abc.execute-api...amazonaws.com/dev").
# Default: the custom domain, else `make run`'s address locally; empty: e-mails carry no link.
# A stage without a custom domain gets its API Gateway URL from `make deploy`, which sets it
# in the function's configuration once the API exists (deploy/stage.py).
SITE_URL = env(
    "SITE_URL",
    default=f"https://{CUSTOM_DOMAIN}"
    if CUSTOM_DOMAIN
    else "http://127.0.0.1:8000"
    if IS_LOCAL
    else "",
)
CSRF_TRUSTED_ORIGINS = env.list(
    "DJANGO_CSRF_TRUSTED_ORIGINS",
    default=[f"https://{CUSTOM_DOMAIN}"] if CUSTOM_DOMAIN else [],
)

INSTALLED_APPS = [
    "wildrydes.admin_site.AdminConfig",  # django.contrib.admin with the site's titles
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_api_key",
    "drf_spectacular",
    "core",
    "organizations",
    "accounts",
    "rides",
    "promos",
    "events",
    "payments",
    "payment_lists",
    "bi",
    "notifications",
    "frontend",
    "demo",  # manage.py seed_demo: imports every app's demo module; nothing imports it
]

MIDDLEWARE = [
    "core.observability.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.RequestBodyLimitMiddleware",
    "core.middleware.ApiTimesInUtcMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "wildrydes.urls"
WSGI_APPLICATION = "wildrydes.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",  # CSP_NONCE for inline <script>/<style>
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
# Local default: a SQLite file in WAL mode with IMMEDIATE transactions, so concurrent
# writers queue for the lock instead of failing half-way. On AWS: DATABASE_URL (PostgreSQL).
SQLITE_PATH = env.path("SQLITE_PATH", default=BASE_DIR / "db.sqlite3")
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{SQLITE_PATH}")
    if IS_LOCAL
    else env.db("DATABASE_URL")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A write transaction takes the write lock at BEGIN; a second writer waits for it in
    # SQLite's busy handler (up to "timeout" seconds) instead of failing half-way.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA foreign_keys=ON;"
            ),
        }
    )
    # Tests use a file too, so threads share it like real workers; one per test process,
    # so concurrent runs (and xdist workers) never share one.
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(tempfile.gettempdir(), f"wildrydes-test-{os.getpid()}.sqlite3")
    }
# On a stage DATABASE_URL names the host (RDS Proxy) without credentials; the user and
# password come from the stack's generated secret (DATABASE_SECRET_ARN), read at start-up.
if env("DATABASE_SECRET_ARN", default="") and not DATABASES["default"].get("PASSWORD"):
    from wildrydes.aws_secrets import secret_json

    _credentials = secret_json(env("DATABASE_SECRET_ARN"))
    DATABASES["default"]["USER"] = _credentials["username"]
    DATABASES["default"]["PASSWORD"] = _credentials["password"]
# Persistent connections (one per worker process or Lambda container, reused for 10
# minutes): under a long-running server (gunicorn, runserver) and behind a pooler
# (DATABASE_POOLER: "rds-proxy", "pgbouncer"). Only a Lambda function straight to
# PostgreSQL closes its connection after each request: a frozen container cannot give its
# slot back, and after a burst the server would stay full (load/burst.py,
# docs/operations.md "Without a pooler").
DATABASE_POOLER = env("DATABASE_POOLER", default="")
ON_LAMBDA = bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))
DATABASES["default"]["CONN_MAX_AGE"] = env.int(
    "DATABASE_CONN_MAX_AGE",
    default=0
    if ON_LAMBDA
    and not DATABASE_POOLER
    and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    else 600,
)
# Health checks cost a round trip per request: worth it on Lambda (frozen containers, RDS
# dropping idle connections), not under a long-running server (DATABASE_CONN_HEALTH_CHECKS).
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool(
    "DATABASE_CONN_HEALTH_CHECKS", default=not IS_LOCAL
)
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Behind RDS Proxy / PgBouncer in transaction mode consecutive transactions may run on
    # different server connections: no server-side cursors (`.iterator()` fetches on the
    # client); see docs/operations.md, "Behind a connection pooler".
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    # Parameters bound by the server (the same statement text each time), and, on a
    # connection with no pooler in front, prepared from a statement's 5th run: about half of
    # PostgreSQL's CPU per rider's request was planning (in-process, PostgreSQL, 2026-12-06:
    # 9.7 -> 7.7 ms app+db per POST /api/rides/, -20%). Behind a pooler in transaction mode a
    # prepared statement may be missing on the next server connection: set DATABASE_POOLER.
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
    if not DATABASE_POOLER:
        DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 5
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts -------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
CONFIRMATION_CODE_TTL_MINUTES = env.int("CONFIRMATION_CODE_TTL_MINUTES", default=15)
CONFIRMATION_CODE_MAX_ATTEMPTS = env.int("CONFIRMATION_CODE_MAX_ATTEMPTS", default=5)
# Wrong guesses of a confirmation or reset code, counted per address and purpose over this
# window whatever code is current (a new code brings no new tries).
CONFIRMATION_CODE_ATTEMPTS_WINDOW_HOURS = env.float(
    "CONFIRMATION_CODE_ATTEMPTS_WINDOW_HOURS", default=24
)
# New codes (resend, password reset) e-mailed to one address in an hour; beyond, 429.
CONFIRMATION_CODE_MAILS_PER_HOUR = env.int("CONFIRMATION_CODE_MAILS_PER_HOUR", default=5)
# API tokens end this long after their last use (sliding), and on password change or
# reset, account deletion and "sign out everywhere".
API_TOKEN_TTL_DAYS = env.float("API_TOKEN_TTL_DAYS", default=30)
# Password-reset and resend-code answers take at least this long, so their timing does not
# tell whether an account exists (one path sends an e-mail).
ACCOUNT_ANSWER_FLOOR_SECONDS = env.float("ACCOUNT_ANSWER_FLOOR_SECONDS", default=0.5)

# Locally the console; on AWS "django_ses.SESBackend" (region from AWS_REGION).
EMAIL_BACKEND = env(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
AWS_SES_REGION_NAME = env("AWS_SES_REGION_NAME", default=env("AWS_REGION", default="us-east-1"))
# django-ses always passes an explicit endpoint, so AWS_ENDPOINT_URL (moto in tests) must
# be handed to it, as it is to django-storages below.
if env("AWS_ENDPOINT_URL", default=""):
    AWS_SES_REGION_ENDPOINT_URL = env("AWS_ENDPOINT_URL")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Wild Rydes <rides@wildrydes.example>")

# --- Internationalisation -------------------------------------------------------------
LANGUAGE_CODE = "en-us"
# The zone of the service area (SERVICE_AREA is Seattle): the times people read on the
# server's pages, e-mails and the admin, and where "a day" starts (BI's daily aggregates,
# a campaign's daily cap per rider, the CSV export's date). Stored times stay UTC, and so
# does the database connection: with USE_TZ Django keeps PostgreSQL's session in UTC and
# never sends `SET TIME ZONE` (docs/operations.md, RDS Proxy and PgBouncer).
TIME_ZONE = env("TIME_ZONE", default="America/Los_Angeles")
USE_I18N = True
USE_TZ = True
# A time in the admin and on the server's pages says its zone: "7 Dec 2026, 10:39 PST"
# (Django's own "Dec. 7, 2026, 10:39 a.m." names none, and wraps into three lines in a list).
FORMAT_MODULE_PATH = ["wildrydes.formats"]

# --- Static and media files -----------------------------------------------------------
STATIC_URL = env("DJANGO_STATIC_URL", default="/static/")
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
# The API docs' Swagger UI and Redoc (SPECTACULAR_SETTINGS "SIDECAR"): drf-spectacular-sidecar
# is a dev and deploy-time dependency, its files collected with the others (to the stage's
# bucket by `make deploy`); the Lambda zip carries no static files, nor the sidecar.
_sidecar = importlib.util.find_spec("drf_spectacular_sidecar")
if _sidecar:
    _sidecar_files = Path(_sidecar.origin).parent / "static" / "drf_spectacular_sidecar"
    STATICFILES_DIRS.append(("drf_spectacular_sidecar", _sidecar_files))
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=BASE_DIR / "media")
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# On AWS: static files (hashed names) and uploads in S3 through django-storages. Uploads
# sit at the bucket root, so payment lists land under inbox/ where the S3 trigger listens.
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    AWS_S3_REGION_NAME = AWS_REGION
    AWS_S3_CUSTOM_DOMAIN = env("STATIC_CDN_DOMAIN", default="") or None  # e.g. CloudFront
    AWS_S3_ENDPOINT_URL = env("AWS_ENDPOINT_URL", default="") or None  # moto in tests
    AWS_S3_FILE_OVERWRITE = False
    AWS_DEFAULT_ACL = None
    AWS_QUERYSTRING_AUTH = True  # uploads and reports: signed, expiring links
    STORAGES = {
        "default": {"BACKEND": "storages.backends.s3.S3Storage"},
        "staticfiles": {
            "BACKEND": "storages.backends.s3.S3ManifestStaticStorage",
            "OPTIONS": {
                "location": "static",
                "querystring_auth": False,
                # Pages name static files by their hashed names: a file never changes
                # under its name, so browsers keep it instead of asking again each time.
                "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"},
            },
        },
    }
    # Static files are served from the bucket, never by the function.
    MIDDLEWARE.remove("whitenoise.middleware.WhiteNoiseMiddleware")
    _static_host = AWS_S3_CUSTOM_DOMAIN or (
        f"{AWS_STORAGE_BUCKET_NAME}.s3.{AWS_REGION}.amazonaws.com"
        if not AWS_S3_ENDPOINT_URL
        else f"{AWS_S3_ENDPOINT_URL.split('://', 1)[-1]}/{AWS_STORAGE_BUCKET_NAME}"
    )
    _scheme = "http" if AWS_S3_ENDPOINT_URL and AWS_S3_ENDPOINT_URL.startswith("http:") else "https"
    STATIC_URL = f"{_scheme}://{_static_host}/static/"

# Throttle counters. Locally in memory; a stage shares them between Lambda containers
# through the database (the cache table is created by core's migrations).
CACHES = {
    "default": env.cache(
        "CACHE_URL", default="locmemcache://" if IS_LOCAL else "dbcache://wildrydes_cache"
    )
}

# --- Security -------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_ENGINE = "accounts.sessions"  # Django's database sessions (see the module)
SESSION_COOKIE_HTTPONLY = True
if not IS_LOCAL:
    # API Gateway terminates TLS and says so in X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)

# --- Requests -------------------------------------------------------------------------
# Bodies above this size are refused with 413 before anything reads them.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=64 * 1024)

JSON_MAX_DEPTH = env.int("JSON_MAX_DEPTH", default=32)
# CSRF failures: JSON with a sentence under /api/, Django's page elsewhere.
CSRF_FAILURE_VIEW = "core.views.csrf_failure"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON nested deeper than JSON_MAX_DEPTH levels: 400, never a RecursionError.
    "DEFAULT_PARSER_CLASSES": ["core.parsers.DepthLimitedJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "core.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_THROTTLE_RATES": {
        "promo_draws": env("PROMO_DRAW_THROTTLE_RATE", default="600/minute"),
        "auth_address": env("AUTH_THROTTLE_RATE_PER_ADDRESS", default="30/minute"),
        # Tries at one e-mail from one client address, then from all clients together
        # (counted only when the first allows: keep it above twice the first, so no single
        # host can reach it and keep the rider out). README "Limits", accounts/throttles.py.
        "auth_email_client": env("AUTH_THROTTLE_RATE_PER_EMAIL", default="10/minute") or None,
        "auth_email": env("AUTH_THROTTLE_RATE_PER_EMAIL_ALL_CLIENTS", default="50/minute") or None,
        # Writes per caller (429 with Retry-After beyond; an empty value: no limit). The
        # anonymous unicorn applications count per client address, the rest per user or
        # service key. See README "Limits" and docs/security.md.
        "unicorn_applications": env("UNICORN_APPLICATION_THROTTLE_RATE", default="5/hour") or None,
        "ride_requests": env("RIDE_REQUEST_THROTTLE_RATE", default="20/minute") or None,
        "payments": env("PAYMENT_THROTTLE_RATE", default="300/minute") or None,
        "uploads": env("UPLOAD_THROTTLE_RATE", default="30/hour") or None,
    },
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append(
        "rest_framework.renderers.BrowsableAPIRenderer"
    )

SPECTACULAR_SETTINGS = {
    "TITLE": "Wild Rydes API",
    "DESCRIPTION": "Request a unicorn, follow the ride, pay the fare.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Rides ----------------------------------------------------------------------------
# The city the service runs in: map centre, and the stable where new unicorns start.
CITY_CENTER = (
    env.float("CITY_LATITUDE", default=47.6062),
    env.float("CITY_LONGITUDE", default=-122.3321),
)
UNICORN_SPEED_KMH = env.float("UNICORN_SPEED_KMH", default=30.0)
DISPATCH_MAX_RADIUS_KM = env.float("DISPATCH_MAX_RADIUS_KM", default=50.0)
DISPATCH_RETRY_AFTER_SECONDS = env.int("DISPATCH_RETRY_AFTER_SECONDS", default=30)
# Idempotency-Key (core.idempotency): a duplicate waits this long for the first request's
# answer before a 409 with Retry-After; a claim older than the lease (its process died
# between claim and answer) is taken over by the next retry. The lease outlasts a ride
# request (two promo tries of PROMO_SERVICE_TIMEOUT and the dispatch).
IDEMPOTENCY_WAIT_SECONDS = env.float("IDEMPOTENCY_WAIT_SECONDS", default=2.0)
IDEMPOTENCY_LEASE_SECONDS = env.float("IDEMPOTENCY_LEASE_SECONDS", default=5.0)
# An answer is kept for retries this long, then purged by the relay's pass (every minute
# on AWS, `relay_events --loop` locally): far longer than any client retries (seconds to
# minutes); a key reused after it is a new request. Answers carry e-mail addresses.
IDEMPOTENCY_RETENTION_HOURS = env.float("IDEMPOTENCY_RETENTION_HOURS", default=24.0)
FARE_CURRENCY = env("FARE_CURRENCY", default="USD")
FARE_BASE_MINOR = env.int("FARE_BASE_MINOR", default=500)
FARE_PER_KM_MINOR = env.int("FARE_PER_KM_MINOR", default=150)
FARE_FLAT_MINOR = env.int("FARE_FLAT_MINOR", default=1250)
# The ride's clock: RIDE_TIME_SCALE 60 makes a minute of travel, boarding and expiry pass in
# a second (demos, browser tests). A rider not on board RIDE_BOARDING_MINUTES after the
# unicorn arrived is a no-show: the ride expires and RIDE_CANCELLATION_FEE is charged, as it
# is for a cancellation after the arrival (before it, cancelling is free).
RIDE_TIME_SCALE = env.float("RIDE_TIME_SCALE", default=1.0)
RIDE_BOARDING_MINUTES = env.float("RIDE_BOARDING_MINUTES", default=5.0)
RIDE_CANCELLATION_FEE = Decimal(env("RIDE_CANCELLATION_FEE", default="5.00"))  # FARE_CURRENCY
# Pickups and drop-offs must lie within SERVICE_AREA: "latitude,longitude,radius_km"
# (default: 25 km around the city centre). A drop-off closer than RIDE_MIN_TRIP_KM to the
# pickup is refused (that is no ride).
SERVICE_AREA = dict(
    zip(
        ("latitude", "longitude", "radius_km"),
        map(float, env.list("SERVICE_AREA", default=[*CITY_CENTER, 25.0])),
        strict=True,
    )
)
RIDE_MIN_TRIP_KM = env.float("RIDE_MIN_TRIP_KM", default=0.05)

# --- Frontend (rider pages) -----------------------------------------------------------
# Map tiles: OpenStreetMap by default; point MAP_TILES_URL at another tile server (or a
# local one) with the usual {z}/{x}/{y} placeholders. Without tiles the map still works.
MAP_TILES_URL = env("MAP_TILES_URL", default="https://tile.openstreetmap.org/{z}/{x}/{y}.png")


# --- Content Security Policy (django-csp) -----------------------------------------------
# Scripts, styles and images from this site (and the static bucket), map tiles from the
# tile server, API calls to this site only. No 'unsafe-inline' for scripts or style
# elements: the few inline <script>/<style> blocks (the "js" class switch in the rider
# pages' base template, the API docs page) carry the request's nonce; everything else is a
# static file. Style *attributes* stay allowed
# (style-src-attr): Leaflet and the admin position things with them, and an attribute cannot
# run script. See docs/security.md.
def _origin(url: str) -> str | None:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


from csp.constants import NONCE  # noqa: E402

_static_origin = _origin(STATIC_URL)
_tiles_origin = _origin(MAP_TILES_URL.replace("{s}.", ""))
_SELF = ["'self'", *([_static_origin] if _static_origin else [])]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": [*_SELF, NONCE],
        "style-src": [*_SELF, NONCE],
        "style-src-elem": [*_SELF, NONCE],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": [*_SELF, "data:", *([_tiles_origin] if _tiles_origin else [])],
        "font-src": _SELF,
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Promos ---------------------------------------------------------------------------
# Empty: draw discounts in-process. Set both to call another deployment's promo service.
PROMO_SERVICE_URL = env("PROMO_SERVICE_URL", default="")
PROMO_SERVICE_KEY = env("PROMO_SERVICE_KEY", default="")
PROMO_SERVICE_TIMEOUT = env.float("PROMO_SERVICE_TIMEOUT", default=0.8)

# --- Payments and events ---------------------------------------------------------------
PAYMENT_CURRENCIES = env.list("PAYMENT_CURRENCIES", default=["USD", "EUR", "GBP"])
# Empty: events are delivered in-process after commit. Set: the relay publishes to SNS.
EVENTS_SNS_TOPIC_ARN = env("EVENTS_SNS_TOPIC_ARN", default="")
# "inline": events are handed on right after their transaction commits, before the
# caller goes on (on Lambda the process freezes after the answer); "relay": only by the
# relay loop. The relay catches up in both (events.relay).
EVENTS_DELIVERY = env("EVENTS_DELIVERY", default="inline")
EVENTS_MAX_ATTEMPTS = env.int("EVENTS_MAX_ATTEMPTS", default=5)
EVENTS_RETRY_BASE_SECONDS = env.float("EVENTS_RETRY_BASE_SECONDS", default=2.0)
# How long one relay pass may keep draining a backlog, batch after batch (the schedule
# runs it every minute; on Lambda it also stops before the invocation's timeout).
EVENTS_RELAY_SECONDS = env.float("EVENTS_RELAY_SECONDS", default=50.0)
# Who listens to what. On AWS each name is also the suffix of its SQS queue.
EVENT_SUBSCRIBERS = {
    "bi": {
        "handler": "bi.subscribers.handle_event",
        "types": [
            "rides.RideCompleted",
            "payments.PaymentRegistered",
            "payments.PaymentVerified",
            "payments.PaymentDeleted",
        ],
    },
    "notifications": {
        "handler": "notifications.subscribers.handle_event",
        "types": [
            "payments.PaymentRegistered",
            "payments.PaymentVerified",
            "payments.PaymentDeleted",
            "rides.RideAssigned",
            "rides.RideArrived",
            "rides.RideBoarded",
            "rides.RideCompleted",
            "rides.RideCancelled",
            "rides.RideExpired",
        ],
    },
}

# Payment lists: uploads up to this size (bytes); staged rows deleted per statement;
# how the workflow runs: "thread" (local), "inline" (tests, commands), "stepfunctions" (AWS);
# how long a run may go without progress before the recovery pass takes it over (longer
# than any step: Lambda's timeout, a million-row import).
FILE_UPLOAD_MAX_SIZE = env.int("FILE_UPLOAD_MAX_SIZE", default=200 * 1024 * 1024)
PAYMENT_LIST_IMPORT_CHUNK = env.int("PAYMENT_LIST_IMPORT_CHUNK", default=100_000)
# A list's error report names at most this many problems (then counts the rest).
PAYMENT_LIST_ERROR_REPORT_MAX_ROWS = env.int("PAYMENT_LIST_ERROR_REPORT_MAX_ROWS", default=10_000)
PAYMENT_LIST_LEASE_SECONDS = env.int("PAYMENT_LIST_LEASE_SECONDS", default=600)
PAYMENT_LIST_RUNNER = env("PAYMENT_LIST_RUNNER", default="thread")
PAYMENT_LIST_STATE_MACHINE_ARN = env("PAYMENT_LIST_STATE_MACHINE_ARN", default="")

# Demo data is seeded only where this is true (never on an AWS stage).
DEMO_DATA_ALLOWED = env.bool("DEMO_DATA_ALLOWED", default=IS_LOCAL)

# --- Observability ----------------------------------------------------------------------
# JSON lines with the request id on every line (LOG_FORMAT=plain for a readable terminal).
LOG_FORMAT = env("LOG_FORMAT", default="plain" if IS_LOCAL else "json")
METRICS_EMF = env.bool("METRICS_EMF", default=not IS_LOCAL)  # CloudWatch embedded metrics
# Tracing is off (Lambda's active tracing and the X-Ray SDK are not shipped): timings are
# in the logs (core.observability) and CloudWatch's own Lambda/API Gateway metrics.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.observability.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}
