"""A draw that waits for a budget slice (every slice that covers its discount is held by
other transactions) holds no other slice while it waits, so it cannot deadlock with a
transaction that locks all of the campaign's slices in order (an operator's change of the
campaign, a draw or a give-back on a nearly spent budget).

It did: the draw's statement locked the first of the slices that covered the discount as
it saw them when it began; one spent meanwhile was locked, found spent, skipped and kept
locked (PostgreSQL keeps such a lock) while the statement waited for the next, held by
the one locking all slices, which came to the kept one next. A stress run (6 riders
drawing and cancelling while an operator lowered the budget three times) deadlocked in 4
to 11 rounds of 24. The test builds that interleaving: the draw's statements that lock
slices pause first, inside the statement (as test_budget_lowered_during_a_draw does).
"""

import threading
import time
import uuid
from decimal import Decimal

import pytest
from django.db import connection, transaction

from promos.models import BudgetSlice, DiscountAward
from promos.selectors import budget_spent_minor
from promos.services import record_discount
from tests.factories import CampaignFactory
from tests.promos.races import SEATTLE, in_thread, wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'"),
]

SLEEP_SECONDS = 1.0


def test_a_draw_waiting_for_a_slice_holds_no_other():
    campaign = CampaignFactory(budget_minor=16_000, tiers=[("0.50", 1)])  # 1,000 a slice
    slices = {piece.number: piece for piece in BudgetSlice.objects.filter(campaign=campaign)}
    BudgetSlice.objects.filter(campaign=campaign).update(spent_minor=1_000)  # all full, but:
    BudgetSlice.objects.filter(pk=slices[1].pk).update(spent_minor=500)  # room for 100
    BudgetSlice.objects.filter(pk=slices[3].pk).update(spent_minor=400)  # room, the least spent
    spent_before = budget_spent_minor(campaign.pk)
    errors, pauses, awards = [], [], []
    held_2, end_2 = threading.Event(), threading.Event()

    def a_ride_holding_slice_2():
        with transaction.atomic():
            list(BudgetSlice.objects.select_for_update(of=("self",)).filter(pk=slices[2].pk))
            held_2.set()
            end_2.wait(timeout=20)

    def slow_slice_locks(execute, sql, params, many, context):
        if "FOR UPDATE" in sql and BudgetSlice._meta.db_table in sql:
            pauses.append(time.monotonic())
            pause = f" WHERE (SELECT true FROM pg_sleep({SLEEP_SECONDS})) AND "  # noqa: S608
            sql = sql.replace(" WHERE ", pause, 1)
        return execute(sql, params, many, context)

    def rider_draws():
        award = DiscountAward(
            username=f"{uuid.uuid4().hex}@example.com", latitude=SEATTLE[0],
            longitude=SEATTLE[1], fare_minor=200, campaign=campaign,
            multiplier=Decimal("0.50"), outcome=DiscountAward.Outcome.DRAWN, discount_minor=100,
        )  # fmt: skip
        with connection.execute_wrapper(slow_slice_locks), transaction.atomic():
            awards.append(record_discount(award))  # as a ride request records it

    def operator_changes_the_campaign():  # locks every slice in number order
        campaign.name = "Unicorn Tuesday, renamed"
        campaign.save()

    # Three connections at most at any time (the tests' PgBouncer gives three): the
    # steps are timed from the draw's pauses, not watched in pg_stat_activity.
    threads = [in_thread(errors, a_ride_holding_slice_2)]
    assert held_2.wait(timeout=10), errors
    with transaction.atomic():  # another ride holds slices 1 and 3, then spends 3 to the full
        held = BudgetSlice.objects.select_for_update(of=("self",))
        list(held.filter(pk__in=[slices[1].pk, slices[3].pk]))
        threads.append(in_thread(errors, rider_draws))
        # Its first try passes over the held slices 1 and 3; its second waits for one.
        wait_until(lambda: len(pauses) >= 2, "the draw did not wait for a slice")
        time.sleep(SLEEP_SECONDS / 5)  # the draw's statement has begun: slice 3 had room
        BudgetSlice.objects.filter(pk=slices[3].pk).update(spent_minor=1_000)
    # The operator locks slices 0 and 1 and waits for slice 2, before the draw's pause ends.
    threads.append(in_thread(errors, operator_changes_the_campaign))
    time.sleep(max(0, pauses[1] + SLEEP_SECONDS * 1.5 - time.monotonic()))
    end_2.set()  # the draw waits (for the operator); the operator goes on past slice 2
    for thread in threads:
        thread.join(timeout=30)

    assert not errors
    [award] = awards
    assert award.discount_minor == 100  # from slice 1, which still had room
    assert budget_spent_minor(campaign.pk) == spent_before + 600 + 100
