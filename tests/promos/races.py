"""What the promo budget's race tests share: real threads, each on its own connection, and
a look at what the other connections to the test database are doing (pg_stat_activity)."""

import threading
import time
import uuid

from django.db import connection, transaction

from promos.services import draw_discount

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


def draw(fare_minor, ride_id=None):
    """A discount drawn for a new rider in Seattle, as a ride request records it: in the
    ride's transaction."""
    with transaction.atomic():
        return draw_discount(
            username=f"{uuid.uuid4().hex}@example.com", latitude=SEATTLE[0],
            longitude=SEATTLE[1], fare_minor=fare_minor, ride_id=ride_id,
        )  # fmt: skip


def lowering_the_budget(campaign, budget_minor: int, lowered, commit_it, seconds: float = 10):
    """An operator's change of the budget, for `in_thread`: saved (Campaign.save holds every
    slice), `lowered` set, then committed once `commit_it` is set."""

    def operator():
        with transaction.atomic():
            campaign.budget_minor = budget_minor
            campaign.save(update_fields=["budget_minor"])  # holds every slice
            lowered.set()
            commit_it.wait(timeout=seconds)

    return operator
