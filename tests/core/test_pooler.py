"""Behind a connection pooler in transaction mode (PgBouncer here, RDS Proxy on AWS), each
transaction may run on a different server connection. Nothing may rely on state that a
server connection keeps between transactions: cursors, prepared statements, session
settings. `make test` runs the PostgreSQL pass through a real PgBouncer with fewer server
connections than clients (tests/pgcluster.py); these tests make the pooler hand the
server connection a client just used to somebody else, then go on with that client.
On a direct connection (and SQLite) they must pass all the same.
"""

import threading

import pytest
from django.db import connection, connections, transaction

from core.admin_csv import in_chunks
from payments.models import Payment
from tests.factories import PaymentFactory

pytestmark = pytest.mark.django_db(transaction=True)


class ServerConnectionTaker:
    """Another client that opens a transaction and keeps it until `release()`.

    PgBouncer gives a free server connection to the next client that starts a transaction,
    the one used last first: right after our client's statement that is our client's, so
    our next statement runs on another server connection.
    """

    def __init__(self):
        self._started, self._release = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                self._started.set()
                self._release.wait(30)
        finally:
            self._started.set()
            connections.close_all()

    def take(self) -> "ServerConnectionTaker":
        self._thread.start()
        assert self._started.wait(30)
        return self

    def release(self) -> None:
        self._release.set()
        self._thread.join(30)


class ServerConnectionShuffler:
    """After each of our client's statements, `shuffle()` has another client take the
    server connection it used; the previous taker lets its own go, so at most two are
    held whatever the pool's size."""

    def __init__(self):
        self._held = None

    def shuffle(self) -> None:
        if connection.vendor != "postgresql":  # no pooler; SQLite has one writer at a time
            return
        taker = ServerConnectionTaker().take()
        self.release()
        self._held = taker

    def release(self) -> None:
        if self._held is not None:
            self._held.release()
            self._held = None


def test_a_query_read_in_chunks_survives_a_change_of_server_connection():
    PaymentFactory.create_batch(7)
    references = []
    shuffler = ServerConnectionShuffler()
    rows = Payment.objects.order_by("reference").values_list("reference", flat=True)
    try:
        for reference in rows.iterator(chunk_size=2):
            references.append(reference)
            shuffler.shuffle()
    finally:
        shuffler.release()

    assert references == sorted(Payment.objects.values_list("reference", flat=True))


def test_a_statement_run_many_times_is_not_prepared_on_one_server_connection():
    payment = PaymentFactory()
    shuffler = ServerConnectionShuffler()
    try:
        for _ in range(10):  # psycopg prepares a statement from its 5th run, if allowed
            assert Payment.objects.get(pk=payment.pk).reference == payment.reference
            shuffler.shuffle()
    finally:
        shuffler.release()


def test_a_new_database_connection_needs_no_session_settings():
    """Django sends `SET TIME ZONE` on connecting when the server's differs from UTC: the
    pooler would not keep it for the next transaction, and RDS Proxy would pin the
    connection. The server (RDS parameter group, the test cluster) runs in UTC."""
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL session setting")
    connection.close()
    connection.ensure_connection()
    assert connection.connection.info.parameter_status("TimeZone") == connection.timezone_name
    assert not connection.settings_dict["OPTIONS"].get("assume_role")  # SET ROLE


def test_the_admin_csv_export_reads_every_row_in_order_across_server_connections():
    PaymentFactory.create_batch(7)
    expected = list(Payment.objects.values_list("pk", flat=True))  # newest first
    exported = []
    shuffler = ServerConnectionShuffler()
    try:
        for payment in in_chunks(Payment.objects.all(), size=2):
            exported.append(payment.pk)
            shuffler.shuffle()
    finally:
        shuffler.release()

    assert exported == expected
