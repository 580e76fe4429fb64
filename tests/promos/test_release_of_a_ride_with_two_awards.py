"""A ride with two live awards (the remote service's draw tried twice for the same ride:
the client's retry after a reset connection, or the rider's retry under the same
Idempotency-Key) is released without deadlocking with a draw or a give-back that
locks every slice in order (a nearly spent budget).

It did (PostgreSQL): the release gave each award's money back in turn; the first went to
one slice, held until the release commits, and the second, finding no free slice that
covered it, locked every slice in number order, reaching for those below the one it held
while a draw held them and waited for it. One of them failed (503; the draw's
rider booked without the discount): the unbooked
ride's discounts stayed spent, and a later award of the ride was not released either. A
stress run (6 riders, 3 in 10 rides drawn twice, two campaigns, their budgets lowered and
raised) deadlocked in 4 of 24 rounds. Now the release gives back once per campaign (what
its awards took, added up), campaigns in order, so it holds no slice of a campaign when it
starts to lock that campaign's slices.
"""

import threading
import uuid
from decimal import Decimal

import pytest
from django.db import connection, transaction

from promos.models import BudgetSlice, DiscountAward
from promos.selectors import budget_spent_minor
from promos.services import record_discount, release_ride_awards
from tests.factories import CampaignFactory
from tests.promos.races import SEATTLE, in_thread, wait_until, waiting_for_a_lock

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'"),
]


def award(campaign, ride_id, discount_minor):
    return DiscountAward.objects.create(
        username="rider@example.com", latitude=SEATTLE[0], longitude=SEATTLE[1],
        fare_minor=2 * discount_minor, campaign=campaign, multiplier=Decimal("0.50"),
        outcome=DiscountAward.Outcome.DRAWN, discount_minor=discount_minor, ride_id=ride_id,
    )  # fmt: skip


def test_a_ride_with_two_awards_is_released_while_a_draw_locks_every_slice():
    campaign = CampaignFactory(budget_minor=16_000, tiers=[("0.50", 1)])  # 1,000 a slice
    ride_id = uuid.uuid4()
    award(campaign, ride_id, 100)
    award(campaign, ride_id, 900)
    slices = {piece.number: piece for piece in BudgetSlice.objects.filter(campaign=campaign)}
    BudgetSlice.objects.filter(campaign=campaign).update(spent_minor=940)  # 60 left in each
    BudgetSlice.objects.filter(pk=slices[15].pk).update(spent_minor=950)  # the most spent
    spent_before = budget_spent_minor(campaign.pk)
    errors, locks, drawn = [], [], []
    paused, go = threading.Event(), threading.Event()

    def pause_at_the_second_slice_lock(execute, sql, params, many, context):
        if "FOR UPDATE" in sql and BudgetSlice._meta.db_table in sql:
            locks.append(sql)
            if len(locks) == 2:
                paused.set()
                go.wait(timeout=20)
        return execute(sql, params, many, context)

    def release():
        with connection.execute_wrapper(pause_at_the_second_slice_lock):
            release_ride_awards(ride_id=ride_id)

    def rider_draws():  # no one slice covers 500: the draw locks every slice in order
        planned = DiscountAward(
            username="another@example.com", latitude=SEATTLE[0], longitude=SEATTLE[1],
            fare_minor=1_000, campaign=campaign, multiplier=Decimal("0.50"),
            outcome=DiscountAward.Outcome.DRAWN, discount_minor=500,
        )  # fmt: skip
        with transaction.atomic():  # as a ride request records it
            drawn.append(record_discount(planned))

    threads = [in_thread(errors, release)]
    assert paused.wait(timeout=10), errors
    # The draw locks slices 0 to 14 and waits for any the release holds (the old code), or
    # locks them all and draws (the release holds none).
    threads.append(in_thread(errors, rider_draws))
    wait_until(lambda: drawn or errors or waiting_for_a_lock(), "the draw neither waited nor drew")
    go.set()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors  # a deadlock: one of them refused
    assert DiscountAward.objects.filter(ride_id=ride_id, released_at__isnull=True).count() == 0
    [award_drawn] = drawn
    assert award_drawn.discount_minor == 500
    assert budget_spent_minor(campaign.pk) == spent_before - 1_000 + 500
