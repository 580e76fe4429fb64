"""A release that arrives while the remote service's draw for the same ride is still
running (the caller's draw timed out, so it booked the ride at 1.00 and released the
ride's awards at once) releases the award that draw records: its money goes back to the
campaign.

It did not (PostgreSQL): the draw looked for the ride's release when it began, and the
release, committed while the draw waited for a budget slice, found no award to release.
The award stayed live: the budget paid a discount no rider got. Now a draw and a release of
the same ride take turns (a lock on the ride id, for their transactions).
"""

import threading
import uuid

import pytest
from django.db import connection
from django.db.models import Sum

from promos.models import BudgetSlice, DiscountAward
from promos.selectors import budget_spent_minor
from promos.services import draw_discount, release_ride_awards
from tests.factories import CampaignFactory
from tests.promos.races import SEATTLE, in_thread, wait_until, waiting_for_a_lock

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_release_during_the_draw_of_its_ride_releases_the_award():
    campaign = CampaignFactory(budget_minor=16_000, tiers=[("0.50", 1)])
    ride_id = uuid.uuid4()
    errors = []
    paused, go = threading.Event(), threading.Event()

    def pause_before_the_budget(execute, sql, params, many, context):
        if BudgetSlice._meta.db_table in sql and not paused.is_set():
            paused.set()
            go.wait(timeout=20)
        return execute(sql, params, many, context)

    def the_remote_draw():  # the promo service's POST /api/promos/discounts/
        with connection.execute_wrapper(pause_before_the_budget):
            draw_discount(
                username="rider@example.com", latitude=SEATTLE[0], longitude=SEATTLE[1],
                fare_minor=200, ride_id=ride_id,
            )  # fmt: skip

    draw = in_thread(errors, the_remote_draw)
    assert paused.wait(timeout=10), errors
    release = in_thread(errors, lambda: release_ride_awards(ride_id=ride_id))
    if connection.vendor == "postgresql":  # done (the old code), or waiting for the draw
        ended_or_waits = lambda: not release.is_alive() or waiting_for_a_lock()  # noqa: E731
        wait_until(ended_or_waits, "the release neither ended nor waited")
    else:  # waiting for the draw's write lock
        release.join(timeout=1)
    go.set()
    draw.join(timeout=30)
    release.join(timeout=30)

    assert not errors
    assert DiscountAward.objects.filter(ride_id=ride_id, released_at__isnull=True).count() == 0
    live = DiscountAward.objects.filter(campaign=campaign, released_at__isnull=True)
    assert budget_spent_minor(campaign.pk) == 0
    assert (live.aggregate(total=Sum("discount_minor"))["total"] or 0) == 0
