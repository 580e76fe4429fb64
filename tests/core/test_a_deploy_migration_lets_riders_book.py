"""A deploy's `migrate` must not stop riders booking: the index core 0004 adds to the
idempotency records (every ride request writes one) is built while the table stays
writable on PostgreSQL (CREATE INDEX CONCURRENTLY). A plain CREATE INDEX queues behind the
requests in flight, and every new request's INSERT queues behind it, for as long as it
takes to index a stage's records."""

import threading
import time
import uuid

import pytest
from django.db import connection
from django.utils import timezone

from core.models import IdempotencyRecord
from tests.concurrency import held_by_another_transaction
from tests.migrations import migrate_to, migrated_back_to

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("core", "0003_idempotency_claim_lease")]
AFTER = [("core", "0004_idempotency_created_at_index")]


def a_claim() -> IdempotencyRecord:
    """What a ride request with an Idempotency-Key writes first."""
    return IdempotencyRecord.objects.create(
        owner="user:1", scope="rides.create", key=str(uuid.uuid4()), fingerprint="f",
        claimed_at=timezone.now(),
    )  # fmt: skip


def index_build_waiting() -> bool:
    with connection.cursor() as cursor:
        # pg_stat_activity is read once per transaction unless its snapshot is cleared.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE query LIKE 'CREATE INDEX%' AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def test_a_ride_request_writes_while_the_deploy_indexes_its_table():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer: nothing writes beside a migrate (local only)")
    failures = []

    def deploy():
        try:
            migrate_to(AFTER)
        except Exception as error:
            failures.append(error)
        finally:
            connection.close()

    with migrated_back_to(BEFORE):
        # A request in flight (its claim written, not committed) when the migrate starts.
        with held_by_another_transaction(a_claim):
            migrating = threading.Thread(target=deploy)
            migrating.start()
            deadline = time.monotonic() + 20
            while not index_build_waiting():
                assert time.monotonic() < deadline, "the index build waits for the request"
                time.sleep(0.05)
            a_claim()  # the next request: within this block's 2-s lock_timeout, or an error
        migrating.join(timeout=60)
        assert not failures, failures
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE c.relname = 'idempotency_created_idx'"
        )
        assert cursor.fetchone() == (True,)
    assert IdempotencyRecord.objects.count() == 2
