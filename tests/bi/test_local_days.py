"""BI's days are the service area's days (TIME_ZONE, Seattle), the same days as the rows
finance reconciles them with: a payment is counted on the local day of its registered_at
(verified_at, deleted_at), a ride on the local day of its completed_at; every event in
exactly one day, each day's money equal to the sum of its payments to the cent, per
currency; on the 23-hour and the 25-hour days of daylight saving time too."""

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection

from bi import selectors
from events.models import OutboxEvent
from payment_lists.services import submit_payment_list
from payments import services as payments
from payments.events import PAYMENT_REGISTERED
from payments.models import Payment
from rides import services as rides
from rides.lifecycle import boarding_window
from rides.models import Ride
from tests.bi.days import (
    SEATTLE,
    bi_per_day,
    counts_per_day,
    local_day,
    payments_per_day,
    ride_for,
)
from tests.conftest import client_for
from tests.factories import SubscriptionFactory, UnicornFactory, UserFactory
from tests.payment_lists.lists import csv_file

pytestmark = pytest.mark.django_db


def test_a_payment_registered_at_23_59_59_999_counts_for_that_evening(
    clock, finance, django_capture_on_commit_callbacks
):
    """The API registers the payment at 23:59:59.999 Seattle time; its event is written a
    moment later, after midnight. The payments table says the 7th: so must BI."""
    clock.set(datetime(2026, 3, 7, 23, 0))
    api = client_for(finance)  # its token is fresh at that time
    clock.set(datetime(2026, 3, 7, 23, 59, 59, 999000))
    with django_capture_on_commit_callbacks(execute=True):
        answer = api.post(
            "/api/payments/", {"amount": "12.34", "currency": "EUR", "reference": "INV-1"}
        )
    assert answer.status_code == 201, answer.content
    payment = Payment.objects.get()
    assert local_day(payment.registered_at) == date(2026, 3, 7)

    assert bi_per_day(date(2026, 3, 6), date(2026, 3, 9), "registered") == {
        (date(2026, 3, 7), "EUR"): 1234
    }
    assert payments_per_day("registered_at") == {(date(2026, 3, 7), "EUR"): (1, 1234)}


def test_a_payment_verified_and_one_deleted_just_before_midnight_count_that_day(
    clock, finance, django_capture_on_commit_callbacks
):
    clock.set(datetime(2026, 10, 31, 12, 0))
    with django_capture_on_commit_callbacks(execute=True):
        kept = payments.register_payment(
            amount_minor=1001, currency="USD", reference="A", actor=finance
        )
        dropped = payments.register_payment(
            amount_minor=2002, currency="USD", reference="B", actor=finance
        )
    clock.set(datetime(2026, 10, 31, 23, 59, 59, 999000))
    with django_capture_on_commit_callbacks(execute=True):
        payments.verify_payment(payment=kept, actor=finance)
    clock.set(datetime(2026, 10, 31, 23, 59, 59, 999000))
    with django_capture_on_commit_callbacks(execute=True):
        payments.delete_payment(payment=dropped, actor=finance)

    week = (date(2026, 10, 29), date(2026, 11, 3))
    assert bi_per_day(*week, "verified") == {(date(2026, 10, 31), "USD"): 1001}
    assert bi_per_day(*week, "deleted") == {(date(2026, 10, 31), "USD"): 2002}
    assert payments_per_day("verified_at") == {(date(2026, 10, 31), "USD"): (1, 1001)}
    assert payments_per_day("deleted_at") == {(date(2026, 10, 31), "USD"): (1, 2002)}


def test_a_ride_completed_at_23_59_59_999_counts_with_its_fare_that_evening(
    clock, django_capture_on_commit_callbacks
):
    """Requested before midnight, completed at 23:59:59.999: the ride, its fare and its
    fare payment are all the 7th's."""
    rider = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        ride = ride_for(
            rider, clock,
            requested=datetime(2026, 3, 7, 23, 40),
            completed=datetime(2026, 3, 7, 23, 59, 59, 999000),
        )  # fmt: skip
    assert local_day(ride.completed_at) == date(2026, 3, 7)

    days = (date(2026, 3, 6), date(2026, 3, 9))
    assert counts_per_day(*days, "rides_completed") == {date(2026, 3, 7): 1}
    figures = {d.day: d.minor("USD", "revenue_minor") for d in selectors.daily_figures(*days)}
    assert figures[date(2026, 3, 7)] == ride.fare_minor
    # The fare payment is registered at the completion (one clock reading, though the clock
    # moved on between the ride's row and the payment's): finance's registered payments of
    # the 7th, in the payments table and in BI, hold the fare; the 8th has nothing.
    fare = Payment.objects.get(pk=ride.fare_payment.pk)
    assert fare.registered_at == ride.completed_at
    assert payments_per_day("registered_at") == {(date(2026, 3, 7), "USD"): (1, ride.fare_minor)}
    assert bi_per_day(*days, "registered") == {(date(2026, 3, 7), "USD"): ride.fare_minor}
    registered = OutboxEvent.objects.get(type=PAYMENT_REGISTERED)
    assert registered.occurred_at == ride.completed_at


def test_a_fee_of_a_ride_cancelled_at_23_59_59_999_is_that_evening_s(
    clock, django_capture_on_commit_callbacks
):
    """The rider cancels after the unicorn arrived, at 23:59:59.999: the fee payment is
    registered at the cancellation (one clock reading), so finance finds it on the 7th."""
    rider = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        UnicornFactory()
        clock.set(datetime(2026, 3, 7, 23, 58))
        ride = rides.request_ride(rider=rider, pickup=rides.Point(47.6062, -122.3321))
        clock.set(datetime(2026, 3, 7, 23, 59, 30))
        Ride.objects.filter(pk=ride.pk).update(arrives_at=clock.moment)
        ride = rides.settle_ride(Ride.objects.get(pk=ride.pk))  # the unicorn has arrived
        clock.set(datetime(2026, 3, 7, 23, 59, 59, 999000))
        ride = rides.cancel_ride(ride=ride, by=rider)
    assert ride.cancellation_fee_minor == 500
    assert local_day(ride.cancelled_at) == date(2026, 3, 7)

    fee = Payment.objects.get()
    assert fee.registered_at == ride.cancelled_at
    assert payments_per_day("registered_at") == {(date(2026, 3, 7), "USD"): (1, 500)}
    assert bi_per_day(date(2026, 3, 6), date(2026, 3, 9), "registered") == {
        (date(2026, 3, 7), "USD"): 500
    }


def test_a_no_show_fee_is_the_day_of_the_no_show_not_of_whoever_noticed_it(
    clock, django_capture_on_commit_callbacks
):
    """The boarding window ends at 23:59:59 and nobody looks at the ride until the sweep
    after midnight: the ride expired, and its fee was due, on the 7th. Before, the fee was
    registered (and in BI, and on the receipt) at the moment it was noticed, the 8th."""
    rider = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        UnicornFactory()
        clock.set(datetime(2026, 3, 7, 23, 40))
        ride = rides.request_ride(rider=rider, pickup=rides.Point(47.6062, -122.3321))
        deadline = datetime(2026, 3, 7, 23, 59, 59, tzinfo=SEATTLE)
        Ride.objects.filter(pk=ride.pk).update(arrives_at=deadline - boarding_window())
        clock.set(datetime(2026, 3, 8, 0, 4))  # the sweep, five minutes later
        rides.settle_due_rides()
    ride = Ride.objects.get(pk=ride.pk)
    assert ride.status == Ride.Status.EXPIRED
    assert ride.expired_at == deadline

    fee = Payment.objects.get()
    assert fee.registered_at == ride.expired_at
    assert payments_per_day("registered_at") == {(date(2026, 3, 7), "USD"): (1, 500)}
    assert bi_per_day(date(2026, 3, 6), date(2026, 3, 9), "registered") == {
        (date(2026, 3, 7), "USD"): 500
    }
    expired = OutboxEvent.objects.get(type=rides.RIDE_EXPIRED)
    assert expired.occurred_at == ride.expired_at


def test_the_days_clocks_change_count_every_event_once_and_add_up_to_the_cent(
    clock, finance, django_capture_on_commit_callbacks
):
    """2026-03-08 has 23 hours, 2026-11-01 has 25 (01:30 twice). Rides and payments all
    over both days and their neighbours: each counted in one day, BI's figures of each day
    equal to the payments' and the rides' own sums."""
    moments = [
        datetime(2026, 3, 7, 23, 59, 59, 999000),
        datetime(2026, 3, 8, 0, 0),
        datetime(2026, 3, 8, 1, 59, 59, 999000),
        datetime(2026, 3, 8, 3, 0),  # 02:00 PST became 03:00 PDT
        datetime(2026, 3, 8, 23, 59, 59, 999000),
        datetime(2026, 3, 9, 0, 0),
        datetime(2026, 10, 31, 23, 59, 59, 999000),
        datetime(2026, 11, 1, 0, 30),
        datetime(2026, 11, 1, 1, 30),  # PDT
        datetime(2026, 11, 1, 1, 30, fold=1),  # PST, an hour later
        datetime(2026, 11, 1, 23, 59, 59, 999000),
        datetime(2026, 11, 2, 0, 0),
    ]
    amounts = [101, 202, 303, 404, 505, 606, 707, 808, 909, 1010, 1111, 1212]
    with django_capture_on_commit_callbacks(execute=True):
        for n, (moment, minor) in enumerate(zip(moments, amounts, strict=True)):
            clock.set(moment)
            payments.register_payment(
                amount_minor=minor, currency=("USD", "EUR")[n % 2], reference=f"P{n}",
                actor=finance,
            )  # fmt: skip
    riders = [UserFactory() for _ in moments]
    with django_capture_on_commit_callbacks(execute=True):
        for rider, moment in zip(riders, moments, strict=True):
            ride_for(rider, clock, requested=moment - timedelta(minutes=25), completed=moment)

    everything = (date(2026, 3, 1), date(2026, 11, 30))
    assert bi_per_day(*everything, "registered") == {
        key: minor for key, (count, minor) in payments_per_day("registered_at").items()
    }
    per_day = Counter(local_day(r.completed_at) for r in Ride.objects.all())
    assert counts_per_day(*everything, "rides_completed") == dict(per_day)
    total = selectors.totals(selectors.daily_figures(*everything))
    assert total["rides_completed"] == len(moments)
    assert total["payments_registered"] == Payment.objects.count()
    assert total["money"]["EUR"]["payments_registered_minor"] == sum(amounts[1::2])
    assert total["money"]["USD"]["payments_registered_minor"] == sum(amounts[::2]) + sum(
        Ride.objects.values_list("fare_minor", flat=True)
    )
    assert total["money"]["USD"]["revenue_minor"] == sum(
        Ride.objects.values_list("fare_minor", flat=True)
    )
    assert counts_per_day(date(2026, 11, 1), date(2026, 11, 1), "rides_completed") == {
        date(2026, 11, 1): 4  # 00:30, 01:30 PDT, 01:30 PST, 23:59:59.999
    }


def test_a_payment_lists_events_written_after_midnight_count_for_the_evening_of_its_payments(
    clock, settings, django_capture_on_commit_callbacks
):
    """ImportList inserts the list's payments, then writes their events in the same
    transaction (payment_lists.steps): a big list's INSERT may end seconds after midnight,
    its payments registered before it. BI counts them on the evening they were registered."""
    settings.PAYMENT_LIST_RUNNER = "inline"
    organization = SubscriptionFactory(plan="business", max_rows_per_list=10).organization
    payments_insert = f"INSERT INTO {connection.ops.quote_name(Payment._meta.db_table)} ("

    def insert_takes_nine_seconds(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if payments_insert in sql:
            clock.moment += timedelta(seconds=9)
        return result

    clock.set(datetime(2026, 11, 1, 23, 59, 58))
    with (
        connection.execute_wrapper(insert_takes_nine_seconds),
        django_capture_on_commit_callbacks(execute=True),
    ):
        submit_payment_list(
            organization=organization,
            uploaded_file=csv_file([f"LIST-{n},,{n}.00,GBP," for n in (1, 2, 3)]),
            submitted_by="finance@example.com",
            submitter_email="finance@example.com",
        )

    assert clock.moment > datetime(2026, 11, 2, 8, 0, tzinfo=UTC), "the clock passed midnight"
    assert payments_per_day("registered_at") == {(date(2026, 11, 1), "GBP"): (3, 600)}
    assert bi_per_day(date(2026, 11, 1), date(2026, 11, 2), "registered") == {
        (date(2026, 11, 1), "GBP"): 600
    }
