"""A campaign's budget is never overspent when many riders draw at the same moment, and
money given back comes back (real threads, each with its own connection and transaction,
on whichever database the pass runs)."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection, transaction  # noqa: F401 (connection: the skipif below)
from django.utils import timezone

from promos.models import BUDGET_SLICES, BudgetSlice, DiscountAward
from promos.selectors import budget_spent_minor
from promos.services import draw_discount, release_ride_awards
from tests.concurrency import all_at_once, held_by_another_transaction
from tests.factories import CampaignFactory
from tests.migrations import migrate_to, migrated_back_to

pytestmark = pytest.mark.django_db(transaction=True)

SEATTLE = (47.6062, -122.3321)
RIDERS = 12


def draw(fare_minor=1000, ride_id=None):
    with transaction.atomic():  # as a ride request records it: in the ride's transaction
        return draw_discount(
            username=f"{uuid.uuid4().hex}@example.com", latitude=SEATTLE[0],
            longitude=SEATTLE[1], fare_minor=fare_minor, ride_id=ride_id,
        )  # fmt: skip


def test_many_riders_drawing_at_once_never_overspend_a_small_budget():
    # Every draw wins 500 off; the budget covers 7 of them and a bit.
    campaign = CampaignFactory(budget_minor=3_600, tiers=[("0.50", 1)])

    def draws():
        return [draw() for _ in range(3)]

    awards = [award for batch in all_at_once(RIDERS, draws) for award in batch]

    discounted = [a for a in awards if a.discount_minor]
    assert len(discounted) == 7  # the whole budget that whole discounts fit in, no more
    assert all(a.outcome == "budget" and a.multiplier == 1 for a in awards if not a.discount_minor)
    assert budget_spent_minor(campaign.pk) == 3_500 <= campaign.budget_minor
    recorded = DiscountAward.objects.filter(campaign=campaign, discount_minor__gt=0)
    assert sum(recorded.values_list("discount_minor", flat=True)) == 3_500


def test_released_discounts_go_back_to_the_budget_and_can_be_drawn_again():
    campaign = CampaignFactory(budget_minor=2_000, tiers=[("0.50", 1)])
    rides = [uuid.uuid4() for _ in range(4)]
    awards = [draw(ride_id=ride) for ride in rides]
    assert budget_spent_minor(campaign.pk) == 2_000
    assert draw().outcome == "budget"

    released = all_at_once(4, lambda: release_ride_awards(ride_id=rides.pop()))

    assert sorted(released) == [1, 1, 1, 1]
    assert budget_spent_minor(campaign.pk) == 0
    assert all(a.discount_minor == 500 for a in awards)
    assert [draw().discount_minor for _ in range(4)] == [500] * 4
    assert draw().outcome == "budget"


@pytest.mark.django_db  # one connection: no need to commit
def test_a_budget_raised_while_spent_can_be_spent_up_to_the_new_amount():
    campaign = CampaignFactory(budget_minor=1_000, tiers=[("0.50", 1)])
    assert [draw().discount_minor for _ in range(3)] == [500, 500, 0]
    campaign.budget_minor = 2_000
    campaign.save(update_fields=["budget_minor"])
    assert [draw().discount_minor for _ in range(3)] == [500, 500, 0]
    assert budget_spent_minor(campaign.pk) == 2_000


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_a_draw_does_not_wait_for_another_ride_still_holding_its_budget_slice():
    """On PostgreSQL a draw never waits for another's budget row. (SQLite has one writer at
    a time by design: there the second waits for the database, not for a row.)"""
    campaign = CampaignFactory(budget_minor=100_000, tiers=[("0.50", 1)])
    draw()  # the slices exist
    with held_by_another_transaction(draw):
        assert draw().discount_minor == 500
    assert budget_spent_minor(campaign.pk) == 1_500


BEFORE = [("promos", "0003_award_release")]
AFTER = [("promos", "0004_budget_in_slices")]


def test_the_migration_keeps_what_each_campaign_has_spent():
    with migrated_back_to(BEFORE) as old:
        Campaign = old.get_model("promos", "Campaign")
        start = timezone.now() - timedelta(days=1)
        spent = {
            Campaign.objects.create(
                name=name, starts_at=start, budget_minor=budget, spent_minor=spent
            ).pk: spent
            for name, budget, spent in [("A", 10_000, 9_999), ("B", None, 1_234), ("C", 50, 0)]
        }
        Slice = migrate_to(AFTER).get_model("promos", "BudgetSlice")
        for campaign_id, total in spent.items():
            slices = Slice.objects.filter(campaign_id=campaign_id)
            assert slices.count() == BUDGET_SLICES
            assert sum(slices.values_list("spent_minor", flat=True)) == total
        # Each slice of the nearly spent campaign is within its share of the budget.
        assert all(
            s.spent_minor <= BudgetSlice.allowance(10_000, s.number)
            for s in Slice.objects.filter(campaign__name="A")
        )


@pytest.mark.django_db  # one connection: no need to commit
def test_a_campaign_stored_without_its_slices_still_spends_within_its_budget():
    from promos.models import Campaign

    [campaign] = Campaign.objects.bulk_create(  # no save(): no slices
        [Campaign(name="Bulk", starts_at=timezone.now() - timedelta(hours=1), budget_minor=1_000)]
    )
    campaign.tiers.create(multiplier="0.50", weight=1)
    assert not BudgetSlice.objects.filter(campaign=campaign).exists()
    assert [draw().discount_minor for _ in range(3)] == [500, 500, 0]
    assert BudgetSlice.objects.filter(campaign=campaign).count() == BUDGET_SLICES
