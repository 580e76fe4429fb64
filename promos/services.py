"""The discount draw: given a rider and a location, what multiplier applies to the fare."""

import random
import uuid
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from itertools import accumulate

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Case, Exists, ExpressionWrapper, F, Q, Value, When
from django.db.models.functions import Mod
from django.utils import timezone

from core.money import apply_multiplier
from core.observability import count_metric
from promos import selectors
from promos.models import (
    BUDGET_SLICES,
    ONE,
    BudgetSlice,
    Campaign,
    DiscountAward,
    DiscountTier,
    ReleasedRide,
)

_system_random = random.SystemRandom()


def pick_tier(tiers: Sequence[DiscountTier], rng: random.Random) -> DiscountTier:
    """One tier, chosen with probability weight / total weight."""
    cumulative = list(accumulate(tier.weight for tier in tiers))
    roll = rng.random() * cumulative[-1]
    return tiers[bisect_right(cumulative, roll)]


def _slice_allowance():
    """A slice's share of its campaign's budget as it is now (BudgetSlice.allowance in SQL)."""
    budget = F("campaign__budget_minor")
    return ExpressionWrapper(
        budget / BUDGET_SLICES
        + Case(When(number__lt=Mod(budget, BUDGET_SLICES), then=Value(1)), default=Value(0)),
        output_field=models.BigIntegerField(),
    )


def _fits(amount_minor: int, currency: str) -> Q:
    """A slice whose share of the budget as it is now covers `amount_minor` of `currency`
    (any slice when the budget has no limit); none if the budget is in another currency."""
    return Q(campaign__currency=currency) & (
        Q(campaign__budget_minor__isnull=True)
        | Q(spent_minor__lte=_slice_allowance() - amount_minor)
    )


def _slices_with_room(campaign_id: int, amount_minor: int, currency: str):
    """The campaign's slices that cover `amount_minor`, the least spent first."""
    return BudgetSlice.objects.filter(
        _fits(amount_minor, currency), campaign_id=campaign_id
    ).order_by("spent_minor", "number")


class _NoSingleSlice(Exception):
    """`_kept_only_if`'s step changed no slice: its savepoint is rolled back."""


def _spend_budget(campaign: Campaign, amount_minor: int, currency: str) -> bool:
    """Take `amount_minor` of `currency` (the fare's) from the campaign's budget if it is
    there and in that currency as the campaign is now; never overspends, never takes money
    in one currency for a discount in another.

    No hot row: the money comes from one of the campaign's BUDGET_SLICES slices whose share
    of the budget covers it: one that no other transaction holds (it waits for nobody); if
    every such slice is held, the first one freed. Only when no single slice can cover it
    (the budget nearly spent) does the draw lock them all and take the money from several.
    A spent budget is seen without locking anything, so draws on it never queue.
    """
    if amount_minor == 0:
        return True
    if _spend_from_one_slice(campaign.pk, amount_minor, currency, skip_locked=True):
        return True
    slices = BudgetSlice.objects.filter(campaign_id=campaign.pk)
    spent = dict(slices.values_list("number", "spent_minor"))
    room = _room(campaign.pk, spent, currency)
    if room is not None and sum(room.values()) < amount_minor:
        return False
    if len(spent) < BUDGET_SLICES:  # a campaign made without them (Campaign.save makes them)
        BudgetSlice.make_missing(campaign.pk)
    if _spend_from_one_slice(campaign.pk, amount_minor, currency, skip_locked=False):
        return True
    return _spend_from_all_slices(campaign.pk, amount_minor, currency)


def _spend_from_one_slice(
    campaign_id: int, amount_minor: int, currency: str, *, skip_locked: bool
) -> bool:
    """The least spent slice that covers `amount_minor` (one no other transaction holds, with
    `skip_locked`; else the first one, waited for) is locked, then taken from in a statement
    of its own. Not one UPDATE: a statement that waited for a row rechecks it against the
    campaign's row as it was when the statement began (PostgreSQL), so a budget lowered
    meanwhile (Campaign.save holds every slice while it re-spreads them) would be missed
    (test_budget_lowered_during_a_draw). The slice waited for is chosen first and locked
    alone: a statement that locks the first of several that cover it keeps the lock of one
    it finds spent meanwhile (PostgreSQL) while it waits for the next, and deadlocked with
    a draw or a budget change that locks all slices in order (test_a_draw_waiting_for_a_
    slice_holds_no_other). In a savepoint: a slice that no longer covers it is let go at
    once; kept, it would deadlock the same way."""
    slices = BudgetSlice.objects.filter(campaign_id=campaign_id)
    with_room = _slices_with_room(campaign_id, amount_minor, currency).values_list("pk", flat=True)

    def take() -> bool:
        if skip_locked:  # locks the slice it returns, waiting for nobody
            pk = with_room.select_for_update(skip_locked=True, of=("self",)).first()
        else:
            pk = with_room.first()
            if pk is not None:  # waited for alone
                slices.select_for_update().filter(pk=pk).values_list("pk", flat=True).get()
        return pk is not None and bool(
            slices.filter(_fits(amount_minor, currency), pk=pk).update(
                spent_minor=F("spent_minor") + amount_minor
            )
        )

    return _kept_only_if(take)


def _kept_only_if(step) -> bool:
    """`step()` in a savepoint, rolled back unless it returns True: a slice it locked and
    did not change is let go at once (kept, it would deadlock with those that lock all
    slices in order). Returns what `step()` did."""
    try:
        with transaction.atomic():
            if not step():
                raise _NoSingleSlice
        return True
    except _NoSingleSlice:
        return False


def _room(campaign_id: int, spent: dict, currency: str) -> dict | None:
    """What each slice may still spend of `currency` under the campaign's budget as it is
    now ({number: minor units}), given what each has spent ({number: minor units}); None:
    no limit; nothing if the budget is in another currency."""
    budget, budget_currency = (
        Campaign.objects.filter(pk=campaign_id).values_list("budget_minor", "currency").get()
    )
    if budget_currency != currency:
        return dict.fromkeys(range(BUDGET_SLICES), 0)
    if budget is None:
        return None
    return {
        number: max(0, BudgetSlice.allowance(budget, number) - spent.get(number, 0))
        for number in range(BUDGET_SLICES)
    }


def _spend_from_all_slices(campaign_id: int, amount_minor: int, currency: str) -> bool:
    """The slow way, for a nearly spent budget: lock every slice of the campaign and take
    the money from as many as it needs; False if they cannot cover it together."""
    slices = BudgetSlice.objects.filter(campaign_id=campaign_id)
    locked = {piece.number: piece for piece in slices.select_for_update().order_by("number")}
    spent = {number: piece.spent_minor for number, piece in locked.items()}
    room = _room(campaign_id, spent, currency)
    if room is None:  # the limit was lifted meanwhile
        room = {min(locked): amount_minor}
    elif sum(room.values()) < amount_minor:
        return False
    left = amount_minor
    for number in sorted(room, key=room.get, reverse=True):
        take = min(left, room[number])
        if take:
            BudgetSlice.objects.filter(pk=locked[number].pk).update(
                spent_minor=F("spent_minor") + take
            )
            left -= take
    return True


def _give_back_budget(campaign_id: int, amount_minor: int) -> None:
    """Return `amount_minor` to the campaign's budget: to one free slice that spent at least
    that much (the most spent first), unless a slice spent more than its share of the budget
    (a lowered budget, BudgetSlice.fit_to_budget: while one does, the others must stay
    full); then, or when no free slice covers it, the slow way, every slice locked."""
    if not _give_back_to_one_slice(campaign_id, amount_minor):
        _give_back_to_all_slices(campaign_id, amount_minor)


def _give_back_to_one_slice(campaign_id: int, amount_minor: int) -> bool:
    """The most spent slice that no other transaction holds and that spent at least
    `amount_minor` is locked, then given it back in a statement of its own if no slice is
    over its share of the budget as it is then. Not decided by the statement that locks: it
    sees the budget as it was when it began (PostgreSQL), maybe before an operator lowered
    it, and a full slice given back to would be spent beyond the new budget
    (test_budget_lowered_during_a_give_back). Once one slice is held the budget cannot
    change (Campaign.save locks every slice). In a savepoint: a slice not given back to is
    let go at once; kept, it would deadlock with those that lock all slices in order."""
    slices = BudgetSlice.objects.filter(campaign_id=campaign_id)
    over = slices.filter(spent_minor__gt=_slice_allowance())

    def give() -> bool:
        covering = slices.select_for_update(skip_locked=True).filter(spent_minor__gte=amount_minor)
        pk = covering.order_by("-spent_minor", "number").values_list("pk", flat=True).first()
        return pk is not None and bool(
            slices.filter(~Exists(over), pk=pk).update(spent_minor=F("spent_minor") - amount_minor)
        )

    return _kept_only_if(give)


def _give_back_to_all_slices(campaign_id: int, amount_minor: int) -> None:
    """The slow way: every slice of the campaign locked in number order (as Campaign.save
    and a draw's slow way lock them), then the budget read as it is now, and the money
    given back to a slice over its share first, then to the most spent ones."""
    slices = BudgetSlice.objects.filter(campaign_id=campaign_id)
    locked = list(slices.select_for_update().order_by("number"))
    budget = Campaign.objects.filter(pk=campaign_id).values_list("budget_minor", flat=True).get()

    def over_its_share(piece: BudgetSlice) -> bool:
        return budget is not None and piece.spent_minor > BudgetSlice.allowance(
            budget, piece.number
        )

    left = amount_minor
    for piece in sorted(locked, key=lambda piece: (not over_its_share(piece), -piece.spent_minor)):
        take = min(left, piece.spent_minor)
        if take:
            slices.filter(pk=piece.pk).update(spent_minor=F("spent_minor") - take)
            left -= take
        if not left:
            break


def _one_at_a_time_per_ride(ride_id: uuid.UUID | None) -> None:
    """A draw and a release of the same ride take turns, until their transaction ends. A
    release committed while a draw ran (waiting for a budget slice: the caller timed out
    and released the ride) found no award to release, and the draw, which had looked for
    the release when it began, recorded its award live: money given for a ride not booked
    (test_a_release_during_the_draw_of_its_ride_releases_the_award). SQLite: its write
    lock, held from the transaction's start (IMMEDIATE), does it already."""
    if ride_id is None or connection.vendor != "postgresql":
        return
    key = int.from_bytes(uuid.UUID(str(ride_id)).bytes[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


@transaction.atomic(savepoint=False)  # callers that need isolation open a savepoint
def draw_discount(
    *,
    username: str,
    latitude: float,
    longitude: float,
    fare_minor: int | None = None,
    ride_id: uuid.UUID | None = None,
    rng: random.Random | None = None,
    currency: str | None = None,
) -> DiscountAward:
    """Draw and record a discount for `username` at a location, on a fare in `currency`
    (settings.FARE_CURRENCY, the rides' currency, when not given).

    The applicable campaign (active, in the fare's currency, geofence, priority) gives
    weighted tiers; the tier is
    drawn from `rng` (seedable in tests). A rider over the campaign's daily cap, or a
    campaign whose budget cannot cover this discount, gets 1.00. No campaign: 1.00.
    Every draw is recorded, so retention can be measured against what riders were given.
    """
    _one_at_a_time_per_ride(ride_id)
    if selectors.ride_was_released(ride_id):
        return _record_released(username, latitude, longitude, fare_minor, ride_id)
    draw = plan_discount(
        username=username,
        latitude=latitude,
        longitude=longitude,
        fare_minor=fare_minor,
        ride_id=ride_id,
        rng=rng,
        currency=currency,
    )
    return record_discount(draw, currency=currency)


def plan_discount(
    *,
    username: str,
    latitude: float,
    longitude: float,
    fare_minor: int | None = None,
    ride_id: uuid.UUID | None = None,
    rng: random.Random | None = None,
    currency: str | None = None,
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
    campaign = selectors.applicable_campaign(
        latitude=latitude, longitude=longitude, at=now, currency=currency or settings.FARE_CURRENCY
    )
    if campaign is not None:
        award.campaign = campaign
        award.outcome, award.multiplier = _draw_from(campaign, award, rng or _system_random, now)
        if award.multiplier < ONE and fare_minor is not None:
            award.discount_minor = fare_minor - apply_multiplier(fare_minor, award.multiplier)
    return award


@transaction.atomic(savepoint=False)
def record_discount(award: DiscountAward, *, currency: str | None = None) -> DiscountAward:
    """Take a planned discount on a fare in `currency` (settings.FARE_CURRENCY when not
    given) from its campaign's budget (1.00 if the budget cannot cover it, or is no longer
    in that currency: the check and the spend are one conditional UPDATE) and record it."""
    currency = currency or settings.FARE_CURRENCY
    if award.discount_minor and not _spend_budget(award.campaign, award.discount_minor, currency):
        award.outcome, award.multiplier = DiscountAward.Outcome.BUDGET, ONE
        award.discount_minor = 0
    award.save(force_insert=True)
    if award.multiplier < ONE:
        count_metric("DiscountsAwarded", campaign=award.campaign.name)
    return award


def _draw_from(campaign: Campaign, award: DiscountAward, rng, now) -> tuple[str, Decimal]:
    multiplier = pick_tier(campaign.drawable_tiers, rng).multiplier
    if multiplier >= ONE:  # no discount: neither the cap nor the budget is read
        return DiscountAward.Outcome.DRAWN, multiplier
    if campaign.daily_cap_per_rider is not None:
        won = selectors.discounts_won_today(campaign=campaign, username=award.username, at=now)
        if won >= campaign.daily_cap_per_rider:
            return DiscountAward.Outcome.DAILY_CAP, ONE
    # Without a fare there is no amount to take from the budget: a spent budget stops it.
    if (
        award.fare_minor is None
        and campaign.budget_minor is not None
        and selectors.budget_spent_minor(campaign.pk) >= campaign.budget_minor
    ):
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
    _one_at_a_time_per_ride(ride_id)
    ReleasedRide.objects.get_or_create(ride_id=ride_id)
    now = timezone.now()
    released = 0
    owed = defaultdict(int)  # campaign id: minor units
    awards = DiscountAward.objects.select_for_update().filter(
        ride_id=ride_id, released_at__isnull=True
    )
    for award in awards.order_by("pk"):
        award.released_at = now
        award.save(update_fields=["released_at"])
        if award.campaign_id and award.discount_minor:
            owed[award.campaign_id] += award.discount_minor
        released += 1
    # Once per campaign, campaigns in order: a second give-back to the same campaign would
    # hold the first one's slice while it locks every slice in order, and deadlock with a
    # draw doing the same (test_a_ride_with_two_awards_is_released_while_a_draw_locks_...).
    for campaign_id in sorted(owed):
        _give_back_budget(campaign_id, owed[campaign_id])
    if released:
        count_metric("DiscountsReleased")
    return released
