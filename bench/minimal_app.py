"""The floor for `POST /api/rides/`: a bare WSGI app that does one single-row insert.

It reads the same environment as the Django project (DATABASE_URL for PostgreSQL, else
SQLITE_PATH), talks to the database through the same driver (psycopg 3 or sqlite3) with
one persistent connection per worker (per thread under gthread) and the same SQLite
pragmas and IMMEDIATE transactions as wildrydes/settings.py. Per request it parses the
same JSON body, checks the pickup coordinates, requires an `Authorization: Token ...`
header (without looking it up), inserts one row into `bench_ride` (the ride table's
columns, without foreign keys) and answers 201 with a small JSON ride.

What it deliberately leaves out is what the ratio measures: token lookup, dispatch (the
unicorn search and claim), middleware, DRF parsing/validation/rendering.

    gunicorn --chdir bench minimal_app:application
"""

import json
import math
import os
import threading
import uuid
from datetime import UTC, datetime

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=20000",
    "PRAGMA foreign_keys=ON",
)

SQLITE_DDL = (
    """CREATE TABLE IF NOT EXISTS bench_ride (
        id char(32) NOT NULL PRIMARY KEY,
        status varchar(10) NOT NULL,
        pickup_latitude real NOT NULL,
        pickup_longitude real NOT NULL,
        dropoff_latitude real NULL,
        dropoff_longitude real NULL,
        distance_to_pickup_m integer unsigned NOT NULL,
        eta_seconds integer unsigned NOT NULL,
        discount_multiplier decimal NOT NULL,
        fare_minor integer unsigned NOT NULL,
        fare_currency varchar(3) NOT NULL,
        requested_at datetime NOT NULL,
        rider_id bigint NOT NULL,
        unicorn_id bigint NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS bench_ride_requested_at ON bench_ride (requested_at)",
    "CREATE INDEX IF NOT EXISTS bench_ride_rider_newest"
    " ON bench_ride (rider_id, requested_at DESC)",
)

POSTGRES_DDL = (
    """CREATE TABLE IF NOT EXISTS bench_ride (
        id uuid NOT NULL PRIMARY KEY,
        status varchar(10) NOT NULL,
        pickup_latitude double precision NOT NULL,
        pickup_longitude double precision NOT NULL,
        dropoff_latitude double precision NULL,
        dropoff_longitude double precision NULL,
        distance_to_pickup_m integer NOT NULL CHECK (distance_to_pickup_m >= 0),
        eta_seconds integer NOT NULL CHECK (eta_seconds >= 0),
        discount_multiplier numeric(3, 2) NOT NULL,
        fare_minor integer NOT NULL CHECK (fare_minor >= 0),
        fare_currency varchar(3) NOT NULL,
        requested_at timestamp with time zone NOT NULL,
        rider_id bigint NOT NULL,
        unicorn_id bigint NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS bench_ride_requested_at ON bench_ride (requested_at)",
    "CREATE INDEX IF NOT EXISTS bench_ride_rider_newest"
    " ON bench_ride (rider_id, requested_at DESC)",
)

INSERT = (
    "INSERT INTO bench_ride (id, status, pickup_latitude, pickup_longitude, dropoff_latitude,"
    " dropoff_longitude, distance_to_pickup_m, eta_seconds, discount_multiplier, fare_minor,"
    " fare_currency, requested_at, rider_id, unicorn_id)"
    " VALUES ({0}, 'assigned', {0}, {0}, NULL, NULL, 0, 60, {0}, 1250, 'USD', {0}, 1, 1)"
)

_local = threading.local()


def _is_postgres(environ=os.environ) -> bool:
    return environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


def connect(environ=os.environ):
    """A new connection to the bench database, configured like Django's."""
    if _is_postgres(environ):
        import psycopg

        return psycopg.connect(environ["DATABASE_URL"])
    import sqlite3

    conn = sqlite3.connect(
        environ["SQLITE_PATH"], timeout=20, isolation_level=None, check_same_thread=False
    )
    for pragma in SQLITE_PRAGMAS:
        conn.execute(pragma)
    return conn


def create_table(environ=os.environ, table: str = "bench_ride") -> None:
    """Create `table` with bench_ride's columns and indexes (bench/drf_floor.py's is
    `bench_floor_ride`)."""
    conn = connect(environ)
    try:
        for statement in POSTGRES_DDL if _is_postgres(environ) else SQLITE_DDL:
            conn.execute(statement.replace("bench_ride", table))
        if _is_postgres(environ):
            conn.commit()
    finally:
        conn.close()


def _insert_sqlite(conn, ride_id, lat, lon, now):
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(INSERT.format("?"), (ride_id.hex, lat, lon, "1.00", now.isoformat(" ")))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _insert_postgres(conn, ride_id, lat, lon, now):
    try:
        conn.execute(INSERT.format("%s"), (ride_id, lat, lon, "1.00", now))
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


def _connection():
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = connect()
        _local.insert = _insert_postgres if _is_postgres() else _insert_sqlite
    return conn


def _coordinate(value, limit):
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("Must be a number of degrees.")
    value = float(value)
    if not math.isfinite(value) or not -limit <= value <= limit:
        raise ValueError(f"Must be a finite number between -{limit} and {limit}.")
    return value


def _answer(start_response, status, payload):
    body = json.dumps(payload).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def application(environ, start_response):
    if environ["REQUEST_METHOD"] == "GET":  # readiness probe
        return _answer(start_response, "200 OK", {"status": "ok"})
    if environ["REQUEST_METHOD"] != "POST":
        return _answer(start_response, "405 Method Not Allowed", {"detail": "POST only."})
    if not environ.get("HTTP_AUTHORIZATION", "").startswith("Token "):
        return _answer(start_response, "401 Unauthorized", {"detail": "Sign in first."})
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        data = json.loads(environ["wsgi.input"].read(length))
        pickup = data["pickup"]
        lat = _coordinate(pickup["latitude"], 90)
        lon = _coordinate(pickup["longitude"], 180)
    except (ValueError, KeyError, TypeError) as error:
        return _answer(start_response, "400 Bad Request", {"detail": str(error)})
    conn = _connection()
    ride_id = uuid.uuid4()
    now = datetime.now(UTC)
    _local.insert(conn, ride_id, lat, lon, now)
    return _answer(
        start_response,
        "201 Created",
        {
            "id": str(ride_id),
            "status": "assigned",
            "pickup": {"latitude": lat, "longitude": lon},
            "dropoff": None,
            "fare": {"amount": "12.50", "currency": "USD"},
            "requested_at": now.isoformat(),
        },
    )
