"""A test leaves nothing committed for the next ones (tests/conftest.py): the flush of a
transactional test waits for another connection still writing, and the check after each
test that used the test database finds rows committed behind its back (rows left by an
earlier test are the next tests' on that worker: a count that is off, a ride reference
already taken)."""

import threading

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from rides.models import Ride
from tests.admin import bulk
from tests.conftest import committed_rows, rows_left_behind


def writing_on_another_connection(rides: int):
    """A thread that writes `rides` rides in a transaction and commits when told to (the
    returned event); the thread, for the caller to join."""
    written, commit = threading.Event(), threading.Event()

    def write():
        try:
            with transaction.atomic():
                bulk.rides(rides)
                written.set()
                commit.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=write)
    thread.start()
    assert written.wait(30), "the other connection wrote"
    return commit, thread


@pytest.mark.django_db(transaction=True)
def test_the_flush_waits_for_a_transaction_still_writing_and_empties_its_rows_too():
    """As a live server finishing a request, or a thread the test did not wait for, does
    when the test ends: it commits while the flush runs. Before, PostgreSQL's DELETE-based
    flush skipped the rows not committed yet, and 3 rides were there for the next test."""
    commit, thread = writing_on_another_connection(3)
    threading.Timer(0.3, commit.set).start()  # commits while the flush waits for it
    try:
        # as a transactional test's teardown runs it (TransactionTestCase._fixture_teardown)
        call_command("flush", verbosity=0, interactive=False, reset_sequences=False)
    finally:
        commit.set()
        thread.join(30)
    assert Ride.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_rows_committed_through_another_connection_are_counted_as_left_behind():
    """What the check after each test (tests/conftest.py) counts: a `db` test whose thread
    committed these rides fails at its teardown, naming the tables."""
    before = committed_rows()
    commit, thread = writing_on_another_connection(2)
    commit.set()
    thread.join(30)
    left = rows_left_behind(before, committed_rows())
    assert left == {"rides_ride": 2, "accounts_user": 2, "rides_unicorn": 2}
