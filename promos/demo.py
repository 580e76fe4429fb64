"""The demo campaign: an active, geofenced launch offer around the demo city."""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from promos.models import Campaign

DEMO_TIERS = [("1.00", 60), ("0.90", 25), ("0.75", 10), ("0.50", 5)]


def seed_demo_campaign() -> bool:
    """Create the demo campaign if it is missing; True when it was added."""
    if Campaign.objects.filter(name="Unicorn Launch Week").exists():
        return False
    campaign = Campaign.objects.create(
        name="Unicorn Launch Week",
        starts_at=timezone.now() - timedelta(days=1),
        ends_at=None,
        priority=10,
        center_latitude=settings.CITY_CENTER[0],
        center_longitude=settings.CITY_CENTER[1],
        radius_km=25,
        daily_cap_per_rider=3,
        budget_minor=50_000,
    )
    for multiplier, weight in DEMO_TIERS:
        campaign.tiers.create(multiplier=Decimal(multiplier), weight=weight)
    return True
