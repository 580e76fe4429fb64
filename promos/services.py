"""The discount draw: given a rider and a location, what multiplier applies to the fare."""

import random
import uuid
from bisect import bisect_right
from collections.abc import Sequence
from decimal import Decimal
from itertools import accumulate

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.money import apply_multiplier
from core.observability import count_metric
from promos import selectors
from promos.models import ONE, Campaign, DiscountAward, DiscountTier, ReleasedRide

_system_random = random.SystemRandom()


def pick_tier(tiers: Sequence[DiscountTier], rng: random.Random) -> DiscountTier:
    """One tier, chosen with probability weight / total weight."""
    cumulative = list(accumulate(tier.weight for tier in tiers))
    roll = rng.random() * cumulative[-1]
    return tiers[bisect_right(cumulative, roll)]


def _spend_budget(campaign: Campaign, amount_minor: int) -> bool:
    """Take `amount_minor` from the campaign's budget if it is there (atomic, race-free)."""
    if campaign.budget_minor is None or amount_minor == 0:
        if amount_minor:
            Campaign.objects.filter(pk=campaign.pk).update(
                spent_minor=F("spent_minor") + amount_minor
            )
        return True
    return bool(
        Campaign.objects.filter(
            pk=campaign.pk, spent_minor__lte=F("budget_minor") - amount_minor
        ).update(spent_minor=F("spent_minor") + amount_minor)
    )


@transaction.atomic(savepoint=False)  # callers that need isolation open a savepoint
def draw_discount(
    *,
    username: str,
    latitude: float,
    longitude: float,
    fare_minor: int | None = None,
    ride_id: uuid.UUID | None = None,
    rng: random.Random | None = None,
) -> DiscountAward:
    """Draw and record a discount for `username` at a location.

    The applicable campaign (active, geofence, priority) gives weighted tiers; the tier is
    drawn from `rng` (seedable in tests). A rider over the campaign's daily cap, or a
    campaign whose budget cannot cover this discount, gets 1.00. No campaign: 1.00.
    Every draw is recorded, so retention can be measured against what riders were given.
    """
    if selectors.ride_was_released(ride_id):
        return _record_released(username, latitude, longitude, fare_minor, ride_id)
    draw = plan_discount(
        username=username,
        latitude=latitude,
        longitude=longitude,
        fare_minor=fare_minor,
        ride_id=ride_id,
        rng=rng,
    )
    return record_discount(draw)


def plan_discount(
    *,
    username: str,
    latitude: float,
    longitude: float,
    fare_minor: int | None = None,
    ride_id: uuid.UUID | None = None,
    rng: random.Random | None = None,
) -> DiscountAward:
    """The first half of `draw_discount`, which only reads: the campaign, the tier, the
    daily cap. Returns the award unsaved; `record_discount` takes the money and saves it.

    A ride request plans before its transaction and records inside it, so the database
    write lock (all of SQLite, the claimed unicorn on PostgreSQL) is not held while the
    draw is worked out. The daily cap is read without a lock either way.
    """
    now = timezone.now()
    award = DiscountAward(
        username=username,
        latitude=latitude,
        longitude=longitude,
        fare_minor=fare_minor,
        ride_id=ride_id,
        multiplier=ONE,
        outcome=DiscountAward.Outcome.NO_CAMPAIGN,
    )
    campaign = selectors.applicable_campaign(latitude=latitude, longitude=longitude, at=now)
    if campaign is not None:
        award.campaign = campaign
        award.outcome, award.multiplier = _draw_from(campaign, award, rng or _system_random, now)
        if award.multiplier < ONE and fare_minor is not None:
            award.discount_minor = fare_minor - apply_multiplier(fare_minor, award.multiplier)
    return award


@transaction.atomic(savepoint=False)
def record_discount(award: DiscountAward) -> DiscountAward:
    """Take a planned discount from its campaign's budget (1.00 if the budget cannot cover
    it: the check and the spend are one conditional UPDATE) and record the award."""
    if award.discount_minor and not _spend_budget(award.campaign, award.discount_minor):
        award.outcome, award.multiplier = DiscountAward.Outcome.BUDGET, ONE
        award.discount_minor = 0
    award.save(force_insert=True)
    if award.multiplier < ONE:
        count_metric("DiscountsAwarded", campaign=award.campaign.name)
    return award


def _draw_from(campaign: Campaign, award: DiscountAward, rng, now) -> tuple[str, Decimal]:
    multiplier = pick_tier(campaign.drawable_tiers, rng).multiplier
    if multiplier < ONE and campaign.daily_cap_per_rider is not None:
        won = selectors.discounts_won_today(campaign=campaign, username=award.username, at=now)
        if won >= campaign.daily_cap_per_rider:
            return DiscountAward.Outcome.DAILY_CAP, ONE
    budget_gone = (
        campaign.budget_minor is not None and campaign.spent_minor >= campaign.budget_minor
    )
    if multiplier < ONE and budget_gone:
        return DiscountAward.Outcome.BUDGET, ONE
    return DiscountAward.Outcome.DRAWN, multiplier


def _record_released(username, latitude, longitude, fare_minor, ride_id) -> DiscountAward:
    """A draw that arrives after its ride was released: recorded, at 1.00, spending nothing."""
    return DiscountAward.objects.create(
        username=username, latitude=latitude, longitude=longitude, fare_minor=fare_minor,
        ride_id=ride_id, multiplier=ONE, outcome=DiscountAward.Outcome.RELEASED,
        released_at=timezone.now(),
    )  # fmt: skip


@transaction.atomic
def release_ride_awards(*, ride_id: uuid.UUID) -> int:
    """The caller did not book ride `ride_id`: release its awards (the money goes back to
    the campaign's budget, the award no longer counts against the rider's daily cap) and
    remember the ride, so an award recorded later for it is released at once. Idempotent;
    returns how many awards this call released."""
    ReleasedRide.objects.get_or_create(ride_id=ride_id)
    now = timezone.now()
    released = 0
    awards = DiscountAward.objects.select_for_update().filter(
        ride_id=ride_id, released_at__isnull=True
    )
    for award in awards.order_by("pk"):
        award.released_at = now
        award.save(update_fields=["released_at"])
        if award.campaign_id and award.discount_minor:
            Campaign.objects.filter(pk=award.campaign_id).update(
                spent_minor=F("spent_minor") - award.discount_minor
            )
        released += 1
    if released:
        count_metric("DiscountsReleased")
    return released
