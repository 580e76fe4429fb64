"""Real concurrency in tests: threads released together, each with its own database
connection (closed when it is done), on whichever database the pass runs."""

import threading

from django.db import connection


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
