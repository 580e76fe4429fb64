"""A draw whose statement began before an operator's lower budget committed, and that takes
its budget slice after that commit, keeps to the lowered budget (PostgreSQL, READ COMMITTED:
a statement sees the campaign's row as it was when the statement began).

The window between the statement's start and its row lock is microseconds in production;
the test widens it deterministically: the draw's statements that lock slices start with a
`pg_sleep(...)` in their WHERE, evaluated while the statement reads the slices, before it
locks one. A stress run (6 threads drawing while the budget was lowered, 300
rounds) overspent 5 rounds by one discount each on the single-UPDATE free-slice draw.
"""

import threading
import uuid
from decimal import Decimal

import pytest
from django.db import connection, transaction

from promos.models import BudgetSlice, DiscountAward
from promos.selectors import budget_spent_minor
from promos.services import record_discount
from tests.factories import CampaignFactory
from tests.promos.races import (
    SEATTLE,
    in_thread,
    lowering_the_budget,
    other_backends,
    wait_until,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'"),
]

SLEEP_SECONDS = 1.0


def slow_slice_locks(execute, sql, params, many, context):
    """The draw's statements that lock budget slices pause first, inside the statement:
    after it began (its view of the campaign's row taken), before it locks a slice."""
    if "FOR UPDATE" in sql and BudgetSlice._meta.db_table in sql:
        pause = f" WHERE (SELECT true FROM pg_sleep({SLEEP_SECONDS})) AND "  # noqa: S608
        sql = sql.replace(" WHERE ", pause, 1)
    return execute(sql, params, many, context)


def test_a_draw_that_began_before_the_budget_was_lowered_keeps_to_the_lowered_budget():
    campaign = CampaignFactory(budget_minor=16_000, tiers=[("0.50", 1)])  # 1,000 a slice
    lowered, commit_it = threading.Event(), threading.Event()
    awards, errors = [], []

    # 3 or 4 a slice: no discount of 100 fits
    operator_lowers_the_budget = lowering_the_budget(campaign, 50, lowered, commit_it)

    def rider_draws():
        award = DiscountAward(
            username=f"{uuid.uuid4().hex}@example.com", latitude=SEATTLE[0],
            longitude=SEATTLE[1], fare_minor=200, campaign=campaign,
            multiplier=Decimal("0.50"), outcome=DiscountAward.Outcome.DRAWN,
            discount_minor=100,
        )  # fmt: skip
        with connection.execute_wrapper(slow_slice_locks), transaction.atomic():
            awards.append(record_discount(award))  # as a ride request records it

    operator = in_thread(errors, operator_lowers_the_budget)
    assert lowered.wait(timeout=10)
    rider = in_thread(errors, rider_draws)
    sleeping = lambda: other_backends("wait_event = 'PgSleep'")  # noqa: E731
    wait_until(sleeping, "the draw's statement did not start")  # it began: old budget in sight
    commit_it.set()  # the lowered budget commits while the draw's statement runs
    operator.join(timeout=10)
    rider.join(timeout=30)

    assert not errors
    [award] = awards
    assert budget_spent_minor(campaign.pk) <= 50
    assert award.discount_minor == 0 and award.outcome == DiscountAward.Outcome.BUDGET
