from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from promos.models import Campaign, DiscountAward, DiscountTier
from promos.selectors import budget_spent_minor
from promos.services import draw_discount, pick_tier
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db

SEATTLE = (47.6062, -122.3321)
PORTLAND = (45.5152, -122.6784)


def draw(username="rider@example.com", at=SEATTLE, **kwargs):
    return draw_discount(username=username, latitude=at[0], longitude=at[1], **kwargs)


class EvenlySpread:
    """A stand-in for random.Random whose rolls cover [0, 1) in equal steps, in order."""

    def __init__(self, steps: int):
        self.rolls = iter(i / steps for i in range(steps))

    def random(self) -> float:
        return next(self.rolls)


def tiers(*shares):
    return [DiscountTier(multiplier=Decimal(m), weight=w) for m, w in shares]


def test_pick_tier_gives_each_tier_exactly_its_share_of_evenly_spread_rolls():
    offered = tiers(("1.00", 60), ("0.90", 25), ("0.75", 10), ("0.50", 5))
    rng = EvenlySpread(1000)
    counts = Counter(pick_tier(offered, rng).multiplier for _ in range(1000))
    assert counts == {
        Decimal("1.00"): 600,
        Decimal("0.90"): 250,
        Decimal("0.75"): 100,
        Decimal("0.50"): 50,
    }


def test_pick_tier_never_picks_a_zero_weight_tier_even_at_its_boundary():
    offered = tiers(("1.00", 1), ("0.75", 0), ("0.50", 1))
    rng = EvenlySpread(1000)
    picks = Counter(pick_tier(offered, rng).multiplier for _ in range(1000))
    assert picks == {Decimal("1.00"): 500, Decimal("0.50"): 500}


def test_pick_tier_takes_the_last_tier_for_the_highest_roll():
    offered = tiers(("1.00", 3), ("0.50", 1))

    class HighestRoll:
        def random(self):
            return 0.9999999999

    assert pick_tier(offered, HighestRoll()).multiplier == Decimal("0.50")


def test_no_campaign_gives_one_and_is_still_recorded():
    award = draw()
    assert award.multiplier == Decimal("1.00")
    assert award.campaign is None
    assert award.outcome == "no_campaign"
    assert DiscountAward.objects.count() == 1


def test_geofence_excludes_riders_outside_it():
    CampaignFactory(
        center_latitude=SEATTLE[0], center_longitude=SEATTLE[1], radius_km=25, tiers=[("0.50", 1)]
    )
    assert draw(at=SEATTLE).multiplier == Decimal("0.50")
    assert draw(at=PORTLAND).multiplier == Decimal("1.00")


def test_higher_priority_campaign_wins_where_they_overlap():
    CampaignFactory(name="Everyday", priority=1, tiers=[("0.90", 1)])
    CampaignFactory(name="Unicorn Tuesday", priority=5, tiers=[("0.75", 1)])
    award = draw()
    assert award.campaign.name == "Unicorn Tuesday"
    assert award.label == "Unicorn Tuesday: 25% off"


def test_inactive_future_and_ended_campaigns_do_not_apply():
    now = timezone.now()
    CampaignFactory(is_active=False, tiers=[("0.50", 1)])
    CampaignFactory(starts_at=now + timedelta(days=1), tiers=[("0.50", 1)])
    CampaignFactory(starts_at=now - timedelta(days=9), ends_at=now - timedelta(days=1))
    assert draw().campaign is None


def test_daily_cap_stops_discounts_for_that_rider_only():
    CampaignFactory(daily_cap_per_rider=2, tiers=[("0.50", 1)])
    results = [draw("greedy@example.com").multiplier for _ in range(3)]
    assert results == [Decimal("0.50"), Decimal("0.50"), Decimal("1.00")]
    assert DiscountAward.objects.filter(outcome="daily_cap").count() == 1
    assert draw("someone-else@example.com").multiplier == Decimal("0.50")


def test_yesterdays_discounts_do_not_count_toward_the_cap():
    CampaignFactory(daily_cap_per_rider=1, tiers=[("0.50", 1)])
    draw()
    DiscountAward.objects.update(created_at=timezone.now() - timedelta(days=1))
    assert draw().multiplier == Decimal("0.50")


def test_budget_is_spent_and_then_discounts_stop():
    campaign = CampaignFactory(budget_minor=1000, tiers=[("0.50", 1)])
    first = draw(fare_minor=1200)  # 600 off
    second = draw(fare_minor=1200)  # another 600 would exceed 1000
    third = draw(fare_minor=600)  # 300 fits
    assert (first.multiplier, first.discount_minor) == (Decimal("0.50"), 600)
    assert (second.multiplier, second.outcome) == (Decimal("1.00"), "budget")
    assert third.discount_minor == 300
    assert budget_spent_minor(campaign.pk) == 900


def test_award_records_rider_location_ride_and_time():
    import uuid

    CampaignFactory(tiers=[("0.90", 1)])
    ride_id = uuid.uuid4()
    award = draw("who@example.com", ride_id=ride_id, fare_minor=1000)
    award.refresh_from_db()
    assert (award.username, award.ride_id, award.discount_minor) == (
        "who@example.com",
        ride_id,
        100,
    )
    assert (award.latitude, award.longitude) == SEATTLE
    assert award.created_at is not None


def test_campaign_without_tiers_is_skipped():
    Campaign.objects.create(name="Empty", starts_at=timezone.now() - timedelta(hours=1))
    assert draw().multiplier == Decimal("1.00")


def test_running_campaigns_carry_their_tiers_as_stored_best_discount_last():
    from promos.selectors import running_campaigns

    CampaignFactory(name="Everyday", priority=1, tiers=[("0.90", 1)])
    CampaignFactory(name="Unicorn Tuesday", priority=5)
    campaigns = running_campaigns(timezone.now(), currency="USD")
    assert [c.name for c in campaigns] == ["Unicorn Tuesday", "Everyday"]
    # Two decimal places on every database (SQLite hands back floats): "1.00", not "1".
    assert [[str(t.multiplier) for t in c.drawable_tiers] for c in campaigns] == [
        ["1.00", "0.90", "0.75", "0.50"],
        ["0.90"],
    ]
    assert [t.weight for t in campaigns[0].drawable_tiers] == [60, 25, 10, 5]
    assert all(t.campaign is campaigns[0] for t in campaigns[0].drawable_tiers)
