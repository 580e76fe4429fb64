"""Fares in integer minor units: base + per-km rate times distance, or a flat fare."""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from core.geo import haversine_km
from core.money import Money, apply_multiplier


def distance_fare_minor(pickup, dropoff) -> int:
    """Base + per-km rate times the pickup-to-drop-off distance."""
    km = Decimal(str(haversine_km(*pickup, *dropoff)))
    per_km = (km * settings.FARE_PER_KM_MINOR).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return settings.FARE_BASE_MINOR + int(per_km)


def base_fare_minor(pickup, dropoff) -> int:
    """The distance fare, never less than the flat fare (what a ride without a drop-off
    costs): a short trip costs the minimum, the flat fare."""
    if dropoff is None:
        return settings.FARE_FLAT_MINOR
    return max(settings.FARE_FLAT_MINOR, distance_fare_minor(pickup, dropoff))


def estimate_fare(pickup, dropoff, multiplier: Decimal = Decimal("1.00")) -> Money:
    fare = apply_multiplier(base_fare_minor(pickup, dropoff), multiplier)
    return Money(fare, settings.FARE_CURRENCY)
