"""Fares in integer minor units (cents). Decimal appears only at the API edge."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from rides.geo import haversine_km


@dataclass(frozen=True)
class Money:
    minor: int
    currency: str

    def as_api(self) -> dict:
        return {"amount": f"{Decimal(self.minor) / 100:.2f}", "currency": self.currency}


def base_fare_minor(pickup, dropoff) -> int:
    """Base + per-km rate times distance with a drop-off; a flat fare without one."""
    if dropoff is None:
        return settings.FARE_FLAT_MINOR
    km = Decimal(str(haversine_km(*pickup, *dropoff)))
    per_km = (km * settings.FARE_PER_KM_MINOR).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return settings.FARE_BASE_MINOR + int(per_km)


def apply_discount(fare_minor: int, multiplier: Decimal) -> int:
    return int((Decimal(fare_minor) * multiplier).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def estimate_fare(pickup, dropoff, multiplier: Decimal = Decimal("1.00")) -> Money:
    fare = apply_discount(base_fare_minor(pickup, dropoff), multiplier)
    return Money(fare, settings.FARE_CURRENCY)
