"""Real concurrency in tests: threads released together, each with its own database
connection (closed when it is done), on whichever database the pass runs."""

import contextlib
import threading

from django.db import connection, transaction


def all_at_once(count: int, send) -> list:
    """`send()` from `count` threads released together; their responses."""
    barrier = threading.Barrier(count)
    responses, lock = [], threading.Lock()

    def run():
        try:
            barrier.wait(timeout=30)
            response = send()
            with lock:
                responses.append(response)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(responses) == count, "every request answered"
    return responses


@contextlib.contextmanager
def held_by_another_transaction(work):
    """`work()` in a transaction on another thread, left open (its row locks held) until
    the block ends; inside the block this connection gives up on any lock wait after 2 s
    (PostgreSQL's lock_timeout), so a wait is an error instead of a hang."""
    holding, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                work()
                holding.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(timeout=30), "the other transaction started"
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            yield
    finally:
        release.set()
        holder.join(timeout=30)
