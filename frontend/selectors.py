"""Reads the pages need that the rides app's API does not serve."""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet

from core.geo import haversine_km
from core.money import Money, apply_multiplier
from rides import fares
from rides import selectors as ride_selectors
from rides.models import Ride, Unicorn

CHARGED_WHEN_ENDED = ("cancelled", "expired")
ACTIVE = ("assigned", "arrived", "in_progress")
# A payment's status in a rider's words (finance's are "registered" and "verified").
PAYMENT_STATUS_FOR_RIDERS = {"registered": "Charged", "verified": "Paid"}


def fleet() -> QuerySet[Unicorn]:
    """Every unicorn of the fleet for the public fleet page, by name."""
    return Unicorn.objects.order_by("name").only("name", "color", "gender", "on_duty")


@dataclass(frozen=True)
class Receipt:
    """What a rider's receipt shows, worked out from the ride as recorded."""

    ride: Ride
    base_fare: Money
    discount: Money | None  # what the promotion took off, when there was one
    fare: Money
    charged: Money | None  # None: nothing was charged (yet)
    charge_label: str
    payment_id: str | None
    payment_status: str
    distance_km: float | None
    minimum_fare: bool = False  # the trip was short: it cost the minimum (the flat fare)
    waived_fee: Money | None = None  # the fee an operator forgave (the rider owes nothing)

    @property
    def base_fare_label(self) -> str:
        if not self.ride.has_dropoff:
            return "Flat fare"
        return "Minimum fare" if self.minimum_fare else "Fare for the distance"

    @property
    def is_active(self) -> bool:
        return self.ride.status in ACTIVE

    @property
    def discount_percent(self) -> int:
        return round((1 - float(self.ride.discount_multiplier)) * 100)


def receipt_for(*, user, ride_id) -> Receipt:
    """The receipt of one of `user`'s rides (an operator may read any); NotFound otherwise."""
    from payments.models import Payment  # read-only: the payment that settled the ride

    ride = ride_selectors.ride_for(user=user, ride_id=ride_id)
    currency = ride.fare_currency
    base = Money(ride.base_fare_minor, currency)
    fare = Money(ride.fare_minor, currency)
    discount = None
    if ride.discount_multiplier < 1:
        discount = Money(
            ride.base_fare_minor - apply_multiplier(ride.base_fare_minor, ride.discount_multiplier),
            currency,
        )
    fee_minor = getattr(ride, "cancellation_fee_minor", 0) or 0
    waived_fee = None
    payment = (
        Payment.objects.filter(ride_id=ride.id, deleted_at__isnull=True)
        .order_by("-registered_at")
        .only("id", "status")
        .first()
    )
    if ride.status == "completed":
        charged, label = fare, "Fare charged"
    elif ride.status in CHARGED_WHEN_ENDED and fee_minor:
        label = "Cancellation fee" if ride.status == "cancelled" else "No-show fee"
        charged = Money(fee_minor, currency)
    elif ride.status in CHARGED_WHEN_ENDED:
        charged, label = None, "Not charged"
        waived_fee = _waived_fee(ride)
        if waived_fee:
            label = "Fee waived"
    else:
        charged, label = None, "When the ride ends"
    distance, minimum_fare = None, False
    if ride.has_dropoff:
        pickup = (ride.pickup_latitude, ride.pickup_longitude)
        dropoff = (ride.dropoff_latitude, ride.dropoff_longitude)
        distance = haversine_km(*pickup, *dropoff)
        # Charged the flat fare because the distance alone came to less (rides/fares.py).
        minimum_fare = ride.base_fare_minor == settings.FARE_FLAT_MINOR and (
            fares.distance_fare_minor(pickup, dropoff) < settings.FARE_FLAT_MINOR
        )
    return Receipt(
        ride=ride,
        base_fare=base,
        discount=discount,
        fare=fare,
        charged=charged,
        charge_label=label,
        payment_id=str(payment.id) if payment else None,
        payment_status=(
            PAYMENT_STATUS_FOR_RIDERS.get(payment.status, payment.get_status_display().capitalize())
            if payment
            else ""
        ),
        distance_km=distance,
        minimum_fare=minimum_fare,
        waived_fee=waived_fee,
    )


def _waived_fee(ride: Ride) -> Money | None:
    """The fee of `ride` an operator waived (its payment kept, deleted as waived), if any."""
    from payments.models import Payment  # read-only, as in receipt_for

    waived = (
        Payment.objects.filter(ride_id=ride.id, deletion_reason=Payment.DeletionReason.FEE_WAIVED)
        .values_list("amount_minor", "currency")
        .first()
    )
    return Money(*waived) if waived else None
