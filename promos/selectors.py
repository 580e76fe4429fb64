from datetime import datetime, time
from itertools import groupby

from django.db.models import Q
from django.utils import timezone

from core.geo import haversine_km
from promos.models import Campaign, DiscountAward, DiscountTier


def applicable_campaign(*, latitude: float, longitude: float, at: datetime) -> Campaign | None:
    """The highest-priority running campaign whose geofence (if any) holds the point.

    One query on the ride path: the running campaigns' tiers with their campaign. The
    campaign comes back with `drawable_tiers` (its tiers, largest multiplier first).
    """
    tiers = (
        DiscountTier.objects.filter(campaign__is_active=True, campaign__starts_at__lte=at)
        .filter(Q(campaign__ends_at__isnull=True) | Q(campaign__ends_at__gt=at))
        .select_related("campaign")
        .order_by("-campaign__priority", "-campaign__starts_at", "campaign_id", "-multiplier")
    )
    for _, campaign_tiers in groupby(tiers, key=lambda tier: tier.campaign_id):
        campaign_tiers = list(campaign_tiers)
        campaign = campaign_tiers[0].campaign
        if campaign.has_geofence:
            km = haversine_km(
                latitude, longitude, campaign.center_latitude, campaign.center_longitude
            )
            if km > campaign.radius_km:
                continue
        campaign.drawable_tiers = campaign_tiers
        return campaign
    return None


def discounts_won_today(*, campaign: Campaign, username: str, at: datetime) -> int:
    start_of_day = timezone.make_aware(datetime.combine(timezone.localdate(at), time.min))
    return DiscountAward.objects.filter(
        campaign=campaign, username=username, multiplier__lt=1, created_at__gte=start_of_day
    ).count()
