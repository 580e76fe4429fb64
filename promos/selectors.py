from datetime import datetime
from datetime import time as time_of_day
from decimal import Decimal
from itertools import groupby

from django.db import connection
from django.db.models import OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.geo import haversine_km
from promos.models import ONE, BudgetSlice, Campaign, DiscountAward, DiscountTier, ReleasedRide


def running_campaigns(at: datetime, *, currency: str) -> list[Campaign]:
    """Active campaigns at `at` whose budget is in `currency` (the fare's: money in another
    currency is never taken for it), highest priority first, each with `drawable_tiers`.

    Read on every draw (one query), so an operator's change applies to the next ride. In
    SQL: the ORM's version cost 1.0 ms more app CPU per ride request on PostgreSQL (6.5 ->
    5.5 ms; in-process, load 4, 2026-12-06), nearly all of it spent building the query.
    """
    quote = connection.ops.quote_name
    campaigns_table, tiers_table = (quote(m._meta.db_table) for m in (Campaign, DiscountTier))
    rows = Campaign.objects.raw(
        f"""SELECT c.*, t.id AS tier_id, t.multiplier AS tier_multiplier, t.weight AS tier_weight
        FROM {campaigns_table} c JOIN {tiers_table} t ON t.campaign_id = c.id
        WHERE c.is_active AND c.starts_at <= %s AND (c.ends_at IS NULL OR c.ends_at > %s)
            AND c.currency = %s
        ORDER BY c.priority DESC, c.starts_at DESC, c.id, t.multiplier DESC""",  # noqa: S608 (names from the models)
        [*[connection.ops.adapt_datetimefield_value(at)] * 2, currency],
    )
    campaigns = []
    for _, rows_of_campaign in groupby(rows, key=lambda row: row.pk):
        rows_of_campaign = list(rows_of_campaign)
        campaign = rows_of_campaign[0]
        campaign.drawable_tiers = [
            DiscountTier(
                id=row.tier_id, campaign=campaign, weight=row.tier_weight,
                multiplier=Decimal(str(row.tier_multiplier)).quantize(ONE),  # SQLite: a float
            )
            for row in rows_of_campaign
        ]  # fmt: skip
        campaigns.append(campaign)
    return campaigns


def applicable_campaign(
    *, latitude: float, longitude: float, at: datetime, currency: str
) -> Campaign | None:
    """The highest-priority running campaign in `currency` whose geofence (if any) holds
    the point."""
    for campaign in running_campaigns(at, currency=currency):
        if campaign.has_geofence:
            centre = (campaign.center_latitude, campaign.center_longitude)
            if haversine_km(latitude, longitude, *centre) > campaign.radius_km:
                continue
        return campaign
    return None


def discounts_won_today(*, campaign: Campaign, username: str, at: datetime) -> int:
    # The service area's day (TIME_ZONE), also inside an API request, whose answers are UTC.
    zone = timezone.get_default_timezone()
    start_of_day = datetime.combine(timezone.localdate(at, zone), time_of_day.min, tzinfo=zone)
    return DiscountAward.objects.filter(
        campaign=campaign,
        username=username,
        multiplier__lt=1,
        created_at__gte=start_of_day,
        released_at__isnull=True,
    ).count()


def ride_was_released(ride_id) -> bool:
    return ride_id is not None and ReleasedRide.objects.filter(ride_id=ride_id).exists()


def budget_spent_minor(campaign_id: int) -> int:
    """What the campaign has spent on discounts (its budget slices added up)."""
    spent = BudgetSlice.objects.filter(campaign_id=campaign_id).aggregate(total=Sum("spent_minor"))
    return spent["total"] or 0


def budget_spent_subquery():
    """`budget_spent_minor` as an expression, to annotate a query of campaigns with."""
    per_campaign = (
        BudgetSlice.objects.filter(campaign=OuterRef("pk"))
        .order_by()
        .values("campaign")
        .annotate(total=Sum("spent_minor"))
        .values("total")
    )
    return Coalesce(Subquery(per_campaign), 0)
