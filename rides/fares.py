"""Fares in integer minor units: base + per-km rate times distance, or a flat fare."""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from core.geo import haversine_km
from core.money import Money, apply_multiplier


def base_fare_minor(pickup, dropoff) -> int:
    """Base + per-km rate times pickup-to-drop-off distance, never less than the flat fare
    (what a ride without a drop-off costs)."""
    if dropoff is None:
        return settings.FARE_FLAT_MINOR
    km = Decimal(str(haversine_km(*pickup, *dropoff)))
    per_km = (km * settings.FARE_PER_KM_MINOR).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return max(settings.FARE_FLAT_MINOR, settings.FARE_BASE_MINOR + int(per_km))


def estimate_fare(pickup, dropoff, multiplier: Decimal = Decimal("1.00")) -> Money:
    fare = apply_multiplier(base_fare_minor(pickup, dropoff), multiplier)
    return Money(fare, settings.FARE_CURRENCY)
