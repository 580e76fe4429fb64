from datetime import datetime
from datetime import time as time_of_day
from itertools import groupby

from django.db.models import OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.geo import haversine_km
from promos.models import BudgetSlice, Campaign, DiscountAward, DiscountTier, ReleasedRide


def running_campaigns(at: datetime) -> list[Campaign]:
    """Active campaigns at `at`, highest priority first, each with `drawable_tiers`.

    Read on every draw (one query), so an operator's change applies to the next ride.
    """
    tiers = (
        DiscountTier.objects.filter(campaign__is_active=True, campaign__starts_at__lte=at)
        .filter(Q(campaign__ends_at__isnull=True) | Q(campaign__ends_at__gt=at))
        .select_related("campaign")
        .order_by("-campaign__priority", "-campaign__starts_at", "campaign_id", "-multiplier")
    )
    campaigns = []
    for _, campaign_tiers in groupby(tiers, key=lambda tier: tier.campaign_id):
        campaign_tiers = list(campaign_tiers)
        campaign = campaign_tiers[0].campaign
        campaign.drawable_tiers = campaign_tiers
        campaigns.append(campaign)
    return campaigns


def applicable_campaign(*, latitude: float, longitude: float, at: datetime) -> Campaign | None:
    """The highest-priority running campaign whose geofence (if any) holds the point."""
    for campaign in running_campaigns(at):
        if campaign.has_geofence:
            centre = (campaign.center_latitude, campaign.center_longitude)
            if haversine_km(latitude, longitude, *centre) > campaign.radius_km:
                continue
        return campaign
    return None


def discounts_won_today(*, campaign: Campaign, username: str, at: datetime) -> int:
    start_of_day = timezone.make_aware(datetime.combine(timezone.localdate(at), time_of_day.min))
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
