"""Money given back (a released ride) while an operator lowers the campaign's budget goes
where the lowered budget needs it: to the share the budget no longer covers
(BudgetSlice.fit_to_budget), never into a full share, which a later draw would spend
beyond the new budget (PostgreSQL, READ COMMITTED: a statement sees the campaign and its
slices as they were when the statement began, even when it locks a slice after the
operator's commit).

The window between a statement's start and its row lock is microseconds in production;
the test widens it deterministically, as test_budget_lowered_during_a_draw does: the
give-back's statements that lock slices pause first, inside the statement. The operator's
commit lands in the first, second or third of those pauses (or, if the give-back waits for
the operator's locks before that, while it waits).
"""

import threading
import time
import uuid

import pytest
from django.db import connection
from django.db.models import Sum

from promos.models import BudgetSlice, DiscountAward
from promos.selectors import budget_spent_minor
from promos.services import release_ride_awards
from tests.factories import CampaignFactory
from tests.promos.races import draw, in_thread, lowering_the_budget, other_backends

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'"),
]

SLEEP_SECONDS = 0.5


def live_awards_minor(campaign) -> int:
    live = DiscountAward.objects.filter(campaign=campaign, released_at__isnull=True)
    return live.aggregate(total=Sum("discount_minor"))["total"] or 0


@pytest.mark.parametrize("commit_in_pause", [1, 2, 3])
def test_money_given_back_while_the_budget_is_lowered_is_not_spent_again(commit_in_pause):
    campaign = CampaignFactory(budget_minor=16_000, tiers=[("0.50", 1)])  # 1,000 a share
    ride = uuid.uuid4()
    assert draw(fare_minor=80, ride_id=ride).discount_minor == 40  # share 0
    assert draw(fare_minor=2_000).discount_minor == 1_000  # share 1, the most spent
    lowered, commit_it = threading.Event(), threading.Event()
    pauses, released, errors = [], [], []

    def slow_slice_locks(execute, sql, params, many, context):
        """The give-back's statements that lock slices pause first, inside the statement:
        after it began (its view of the budget and the slices taken), before it locks."""
        if "FOR UPDATE" in sql and BudgetSlice._meta.db_table in sql:
            pauses.append(sql)
            pause = f" WHERE (SELECT true FROM pg_sleep({SLEEP_SECONDS})) AND "  # noqa: S608
            sql = sql.replace(" WHERE ", pause, 1)
        return execute(sql, params, many, context)

    # 50 a share; 1,040 spent: share 0 holds the 240 over
    operator_lowers_the_budget = lowering_the_budget(campaign, 800, lowered, commit_it, 20)

    def rider_cancels():
        with connection.execute_wrapper(slow_slice_locks):
            released.append(release_ride_awards(ride_id=ride))

    operator = in_thread(errors, operator_lowers_the_budget)
    assert lowered.wait(timeout=10)
    rider = in_thread(errors, rider_cancels)
    deadline = time.monotonic() + 15
    while not (
        (len(pauses) >= commit_in_pause and other_backends("wait_event = 'PgSleep'"))
        or other_backends("wait_event_type = 'Lock'")  # the give-back waits for the operator
        or not rider.is_alive()
    ):
        assert time.monotonic() < deadline, "the give-back neither paused nor waited"
        time.sleep(0.005)
    commit_it.set()  # the lowered budget commits while the give-back runs
    operator.join(timeout=10)
    rider.join(timeout=30)

    assert not errors and released == [1]
    assert budget_spent_minor(campaign.pk) == 1_000 == live_awards_minor(campaign)
    # 1,000 given, the budget 800: whatever comes back, nothing more is given.
    assert [draw(fare_minor=20).discount_minor for _ in range(8)] == [0] * 8
    assert budget_spent_minor(campaign.pk) == 1_000 == live_awards_minor(campaign)
