"""`pk__any_of`: the outbox's batch lookup answers as `pk__in` would, at any batch size."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.db import in_values
from events.models import OutboxEvent

pytestmark = pytest.mark.django_db


def outbox(n):
    return [
        OutboxEvent.objects.create(type="t", occurred_at=timezone.now(), data={"n": i}).pk
        for i in range(n)
    ]


def test_any_of_finds_exactly_the_listed_events():
    ids = outbox(60)  # more than psycopg's 50 cached parameters
    wanted = ids[::2]

    found = set(OutboxEvent.objects.filter(pk__any_of=wanted).values_list("pk", flat=True))

    assert found == set(wanted)
    assert OutboxEvent.objects.filter(pk__any_of=wanted).update(published_at=timezone.now()) == 30
    assert OutboxEvent.objects.filter(published_at__isnull=True).count() == 30


def test_any_of_an_empty_list_matches_nothing():
    outbox(2)

    assert not OutboxEvent.objects.filter(pk__any_of=[]).exists()


def test_the_ids_go_as_one_array_on_postgresql_and_as_an_in_list_elsewhere():
    ids = outbox(5)
    with CaptureQueriesContext(connection) as queries:
        list(OutboxEvent.objects.filter(pk__any_of=ids[:2]))
        list(OutboxEvent.objects.filter(pk__any_of=ids))
    small, large = (q["sql"] for q in queries.captured_queries)

    if connection.vendor == "postgresql":  # one array parameter: a statement psycopg caches
        assert "= ANY(" in large
        assert in_values(connection, ids)[0] == "= ANY(%s)"
    else:
        assert large.count(",") > small.count(",")  # IN (...) grows with the list
