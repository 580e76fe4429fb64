"""BI's figures stay exact when rides and payments are folded at the same moment, and no
writer waits for another's row (real threads, each with its own connection and
transaction, on whichever database the pass runs)."""

import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection, transaction  # noqa: F401 (skipif conditions read connection)
from django.utils import timezone

from bi import selectors, subscribers
from bi.models import DailyAggregate
from tests.concurrency import all_at_once, held_by_another_transaction

pytestmark = pytest.mark.django_db(transaction=True)

WRITERS = 8
BATCHES = 5


def envelope(event_type: str, data: dict) -> dict:
    now = datetime.now(UTC).isoformat()
    return {"id": str(uuid.uuid4()), "type": event_type, "occurred_at": now, "data": data}


def ride_completed(fare_minor=1500, base_fare_minor=2000, campaign="Unicorn Tuesday"):
    data = {"fare_minor": fare_minor, "base_fare_minor": base_fare_minor, "currency": "USD",
            "campaign": campaign}  # fmt: skip
    return envelope("rides.RideCompleted", data)


def payment(status="Registered", amount_minor=700, currency="EUR"):
    data = {"amount_minor": amount_minor, "currency": currency}
    return envelope(f"payments.Payment{status}", data)


def fold(envelopes) -> None:
    with transaction.atomic():  # as the delivery does: the subscriber's work in one commit
        subscribers.handle_batch(envelopes)


def today_figures():
    day = timezone.localdate()
    [figures] = selectors.daily_figures(day, day)
    return figures


def test_folds_from_many_writers_at_once_add_up_exactly_on_the_dashboard():
    def write():
        for _ in range(BATCHES):
            fold([ride_completed(), payment(), payment("Verified", 300, "USD")])

    all_at_once(WRITERS, write)

    figures = today_figures()
    folds = WRITERS * BATCHES
    assert figures.rides_completed == folds
    assert figures.payments_registered == folds
    assert figures.payments_verified == folds
    assert figures.minor("USD", "revenue_minor") == 1500 * folds
    assert figures.minor("USD", "discounts_minor") == 500 * folds
    assert figures.minor("USD", "payments_verified_minor") == 300 * folds
    assert figures.minor("EUR", "payments_registered_minor") == 700 * folds
    assert figures.minor("USD", "payments_registered_minor") == 0  # currencies never mixed
    [spend] = selectors.campaign_spend(timezone.localdate(), timezone.localdate())
    assert (spend["campaign"], spend["rides"], spend["discounts_minor"]) == (
        "Unicorn Tuesday",
        folds,
        500 * folds,
    )


@pytest.mark.django_db  # one connection: no need to commit
def test_one_writer_after_another_keeps_a_single_row_per_day_and_currency():
    for _ in range(3):
        fold([ride_completed(), payment()])
    assert DailyAggregate.objects.filter(currency="USD").count() == 1
    assert DailyAggregate.objects.get(currency="EUR").payments_registered == 3


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_a_payment_is_folded_while_another_transaction_holds_the_days_row():
    """On PostgreSQL a writer never waits for another's row lock. (SQLite has one writer
    at a time by design: there the second waits for the database, not for a row.)"""
    fold([payment()])  # the day's row exists
    # The holder locks the day's row until the block ends.
    with held_by_another_transaction(lambda: subscribers.handle_batch([payment()])):
        subscribers.handle_batch([payment(amount_minor=5)])
        assert today_figures().payments_registered == 2  # the holder has not committed
    figures = today_figures()
    assert figures.payments_registered == 3
    assert figures.minor("EUR", "payments_registered_minor") == 700 + 700 + 5
