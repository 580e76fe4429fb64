"""Riders requesting at the same moment never get the same unicorn.

Real threads, each with its own database connection, on whichever database the suite runs
(SQLite by default, PostgreSQL when DATABASE_URL points to one).
"""

import threading

import pytest
from django.db import connection

from rides import services
from rides.models import Ride, Unicorn
from tests.factories import UnicornFactory, UserFactory

SEATTLE = services.Point(47.6062, -122.3321)


def request_all_at_once(riders) -> list:
    """Each rider requests from its own thread; returns the unicorn ids (None: refused)."""
    barrier = threading.Barrier(len(riders))
    results = []
    lock = threading.Lock()

    def book(rider):
        try:
            barrier.wait()
            try:
                unicorn_id = services.request_ride(rider=rider, pickup=SEATTLE).unicorn_id
            except services.NoUnicornAvailable:
                unicorn_id = None
            with lock:
                results.append(unicorn_id)
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=(rider,)) for rider in riders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True)
def test_simultaneous_requests_get_distinct_unicorns_until_the_fleet_runs_out():
    # All five stand on the same spot: every request wants the same "nearest" unicorn.
    UnicornFactory.create_batch(5, latitude=SEATTLE.latitude, longitude=SEATTLE.longitude)
    riders = UserFactory.create_batch(12)

    results = request_all_at_once(riders)

    assert len(results) == 12, "every thread answered"
    assigned = [unicorn for unicorn in results if unicorn is not None]
    assert len(assigned) == 5
    assert len(set(assigned)) == 5, "no unicorn was given twice"
    assert Ride.objects.count() == 5
    assert Ride.objects.values("unicorn").distinct().count() == 5
    assert not Unicorn.objects.filter(is_available=True).exists()


@pytest.mark.django_db(transaction=True)
def test_simultaneous_requests_with_enough_unicorns_all_succeed():
    UnicornFactory.create_batch(8, latitude=SEATTLE.latitude, longitude=SEATTLE.longitude)
    riders = UserFactory.create_batch(8)

    results = request_all_at_once(riders)

    assert None not in results
    assert len(set(results)) == 8
