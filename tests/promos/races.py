"""What the promo budget's race tests share: real threads, each on its own connection, and
a look at what the other connections to the test database are doing (pg_stat_activity)."""

import threading
import time

from django.db import connection

SEATTLE = (47.6062, -122.3321)


def in_thread(errors: list, work) -> threading.Thread:
    """`work()` in a started thread on a connection of its own; what it raises goes to
    `errors` (the test asserts there is none)."""

    def run():
        try:
            work()
        except Exception as error:  # reported by the test's assertion
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def wait_until(condition, what: str, seconds: float = 15) -> None:
    """Poll `condition()` until it holds; fail with `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.005)


def other_backends(condition: str) -> int:
    """How many other connections to the test database match `condition`, a WHERE clause
    on pg_stat_activity (e.g. "wait_event_type = 'Lock'")."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "  # noqa: S608 (the tests' own clauses)
            f"WHERE {condition} AND datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def waiting_for_a_lock() -> bool:
    """Another connection waits for a lock (a third connection at most: the tests'
    PgBouncer gives three)."""
    return other_backends("wait_event_type = 'Lock'") > 0
