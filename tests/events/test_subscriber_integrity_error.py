"""A subscriber that fails with an IntegrityError of its own (a constraint of its tables, not
the delivery's ProcessedEvent row) is a failing subscriber like any other: its attempt is
rolled back and its events are tried one at a time. It is not run on the same events a
second time first, as if they had been processed already (what it did outside the
database would be done once more). An event processed already is still told apart: see
test_local_delivery's test_an_event_processed_before_it_was_published_is_delivered_to_the_
others_only (real commits: transactional tests)."""

from collections import Counter

import pytest
from django.db import IntegrityError
from django.test import override_settings

from events import outbox, registry, relay
from events.models import Delivery, ProcessedEvent

pytestmark = pytest.mark.django_db(transaction=True)

RUNS = Counter()  # event reference -> times the subscriber ran on it
BROKEN = "broken"


def handle_batch(envelopes):
    """The test subscriber: counts its runs (its effect outside the database), then fails
    on the broken event with its own IntegrityError."""
    RUNS.update(envelope["data"]["reference"] for envelope in envelopes)
    if any(envelope["data"]["reference"] == BROKEN for envelope in envelopes):
        raise IntegrityError('duplicate key value violates unique constraint "its_own"')


def handle_event(envelope):
    handle_batch([envelope])


@pytest.fixture(autouse=True)
def counting_subscriber(settings):
    settings.EVENT_SUBSCRIBERS = {
        "counting": {"handler": f"{__name__}.handle_event", "types": ["tests.Happened"]}
    }
    registry.subscribers.cache_clear()
    RUNS.clear()
    yield
    registry.subscribers.cache_clear()


def test_an_event_delivered_inline_is_run_once_then_once_on_its_retry():
    outbox.emit("tests.Happened", {"reference": BROKEN})  # delivered after its commit

    # The inline delivery, then its one-by-one retry at once: failed, left for later.
    assert RUNS == {BROKEN: 2}
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert not ProcessedEvent.objects.exists()


def test_a_batch_that_fails_is_not_run_again_before_its_events_are_tried_alone():
    with override_settings(EVENTS_DELIVERY="relay"):
        for reference in ("first", BROKEN, "last"):
            outbox.emit("tests.Happened", {"reference": reference})

    assert relay.relay_events()["published"] == 3

    # The batch once (rolled back), then each event alone.
    assert RUNS == {"first": 2, BROKEN: 2, "last": 2}
    assert set(ProcessedEvent.objects.values_list("event_id", flat=True)) == set(
        Delivery.objects.filter(status="delivered").values_list("event_id", flat=True)
    )
    assert Delivery.objects.filter(status="pending").get().event.data["reference"] == BROKEN
