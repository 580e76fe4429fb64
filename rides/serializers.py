import math

from django.utils import timezone
from rest_framework import serializers

from core.money import Money
from core.serializers import CoordinateField, OneLineTextField
from payments.selectors import fare_payment_ids
from rides import lifecycle
from rides.models import ACTIVE_STATUSES, Ride, Unicorn


class PointSerializer(serializers.Serializer):
    latitude = CoordinateField(limit=90)
    longitude = CoordinateField(limit=180)


class PlaceSerializer(PointSerializer):
    place = serializers.CharField(
        allow_null=True,
        help_text="The neighbourhood or town the point lies in, approximately "
        '("Capitol Hill"); null where none is near.',
    )


class RideRequestSerializer(serializers.Serializer):
    pickup = PointSerializer()
    dropoff = PointSerializer(required=False, allow_null=True)


class UnicornSerializer(serializers.Serializer):
    name = serializers.CharField()
    color = serializers.CharField()
    gender = serializers.CharField()


class FreeUnicornSerializer(UnicornSerializer):
    """A free unicorn near a place, for the map before a request: where it stands."""

    position = PointSerializer()


class ServiceAreaSerializer(serializers.Serializer):
    center = PointSerializer()
    radius_km = serializers.FloatField()


class NearbyUnicornsSerializer(serializers.Serializer):
    service_area = ServiceAreaSerializer()
    results = FreeUnicornSerializer(many=True)


class DispatchedUnicornSerializer(UnicornSerializer):
    """The unicorn of a ride: where it is now (it travels), and where it set off from."""

    pronoun = serializers.CharField(help_text="his, her or their: for sentences about it")
    position = PointSerializer(help_text="Where the unicorn is now.")
    start = PointSerializer(help_text="Where it was when dispatched.")


class MoneySerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()


def _iso(moment):
    return serializers.DateTimeField().to_representation(moment) if moment else None


def _point(latitude, longitude):
    return {"latitude": latitude, "longitude": longitude}


class RideSerializer(serializers.ModelSerializer):
    """A ride as riders and operators see it, at the moment of the answer.

    `eta_seconds` is what is really left (real seconds, from the unicorn's current
    `unicorn.position`); `fare` is what the ride costs the rider: the fare (to be charged
    at completion, or charged), and for a cancelled or expired ride the cancellation fee or
    0.00 (`charged` says whether money was taken).
    """

    rider = serializers.EmailField(source="rider.email")
    unicorn = serializers.SerializerMethodField()
    eta_seconds = serializers.IntegerField(help_text="Real seconds until the unicorn arrives.")
    dropoff_eta_seconds = serializers.IntegerField(
        allow_null=True, help_text="On board with a drop-off: real seconds until it."
    )
    arrives_at = serializers.DateTimeField(allow_null=True)
    board_by = serializers.DateTimeField(
        allow_null=True, help_text="Not on board by then (once arrived): the ride expires."
    )
    pickup = serializers.SerializerMethodField()
    dropoff = serializers.SerializerMethodField()
    distance_km = serializers.FloatField(allow_null=True, help_text="Pickup to drop-off.")
    base_fare = MoneySerializer(help_text="Before the discount.")
    quoted_fare = MoneySerializer(help_text="After the discount: charged at completion.")
    fare = serializers.SerializerMethodField()
    charged = serializers.BooleanField(help_text="Whether money was taken for this ride.")
    cancellation_fee = MoneySerializer(allow_null=True)
    cancelled_by_operator = serializers.BooleanField()
    payment = serializers.SerializerMethodField()

    class Meta:
        model = Ride
        fields = [
            "id",
            "reference",
            "status",
            "rider",
            "unicorn",
            "eta_seconds",
            "dropoff_eta_seconds",
            "arrives_at",
            "board_by",
            "pickup",
            "dropoff",
            "distance_km",
            "discount_multiplier",
            "discount_label",
            "base_fare",
            "quoted_fare",
            "fare",
            "charged",
            "cancellation_fee",
            "requested_at",
            "arrived_at",
            "boarded_at",
            "completed_at",
            "cancelled_at",
            "cancelled_by_operator",
            "expired_at",
            "payment",
        ]

    def to_representation(self, ride):
        """Built directly: a ModelSerializer walks and copies its fields for every ride, and
        this answer is on the hot path (the ride page polls it). The declared fields still
        describe it in the schema."""
        now = self.context.get("now") or timezone.now()
        where = lifecycle.progress(ride, now)
        active = ride.status in ACTIVE_STATUSES
        money = ride.fare_currency
        distance = lifecycle.trip_km(ride)
        return {
            "id": str(ride.id),
            "reference": ride.reference,
            "status": ride.status,
            "rider": ride.rider.email,
            "unicorn": self.get_unicorn(ride, where),
            "eta_seconds": where.eta_seconds,
            "dropoff_eta_seconds": where.dropoff_eta_seconds,
            "arrives_at": _iso(ride.arrives_at),
            "board_by": _iso(lifecycle.boarding_deadline(ride))
            if ride.status in (Ride.Status.ASSIGNED, Ride.Status.ARRIVED)
            else None,
            "pickup": self.get_pickup(ride),
            "dropoff": self.get_dropoff(ride),
            "distance_km": round(distance, 2) if distance is not None else None,
            "discount_multiplier": f"{ride.discount_multiplier:.2f}",
            "discount_label": ride.discount_label,
            "base_fare": Money(ride.base_fare_minor, money).as_api(),
            "quoted_fare": Money(ride.fare_minor, money).as_api(),
            "fare": self.get_fare(ride),
            "charged": ride.status == Ride.Status.COMPLETED or ride.cancellation_fee_minor > 0,
            "cancellation_fee": Money(ride.cancellation_fee_minor, money).as_api()
            if ride.cancellation_fee_minor
            else None,
            "requested_at": _iso(ride.requested_at),
            "arrived_at": _iso(ride.arrived_at),
            "boarded_at": _iso(ride.boarded_at),
            "completed_at": _iso(ride.completed_at),
            "cancelled_at": _iso(ride.cancelled_at),
            "cancelled_by_operator": bool(
                ride.cancelled_by_id and ride.cancelled_by_id != ride.rider_id
            ),
            "expired_at": _iso(ride.expired_at),
            "payment": None if active else self.get_payment(ride),
        }

    def get_unicorn(self, ride, where=None) -> DispatchedUnicornSerializer:
        unicorn = ride.unicorn
        where = where or lifecycle.progress(ride, timezone.now())
        return {
            "name": unicorn.name,
            "color": unicorn.color,
            "gender": unicorn.gender,
            "pronoun": unicorn.pronoun,
            "position": _point(where.latitude, where.longitude),
            "start": _point(ride.unicorn_start_latitude, ride.unicorn_start_longitude),
        }

    def get_pickup(self, ride) -> PlaceSerializer:
        return {**_point(ride.pickup_latitude, ride.pickup_longitude), "place": ride.pickup_place}

    def get_dropoff(self, ride) -> PlaceSerializer(allow_null=True):
        if not ride.has_dropoff:
            return None
        return {
            **_point(ride.dropoff_latitude, ride.dropoff_longitude),
            "place": ride.dropoff_place,
        }

    def get_fare(self, ride) -> MoneySerializer:
        if ride.status in (Ride.Status.CANCELLED, Ride.Status.EXPIRED):
            return Money(ride.cancellation_fee_minor, ride.fare_currency).as_api()
        return Money(ride.fare_minor, ride.fare_currency).as_api()

    def get_payment(self, ride) -> str | None:
        """The id of the ride's payment: the fare once completed, or the cancellation fee."""
        if getattr(ride, "fare_payment", None) is not None:
            return str(ride.fare_payment.id)
        charged = ride.status == Ride.Status.COMPLETED or ride.cancellation_fee_minor
        if not charged:
            return None
        known = self.context.get("fare_payments")
        if known is None:
            known = fare_payment_ids([ride.id])
        payment_id = known.get(ride.id)
        return str(payment_id) if payment_id else None


class QueryCoordinateField(serializers.FloatField):
    """A coordinate in a query string: a finite number within [-limit, limit]."""

    def __init__(self, *, limit: float, **kwargs):
        super().__init__(min_value=-limit, max_value=limit, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            raise serializers.ValidationError("Must be a finite number of degrees.")
        return value


class NearbyQuerySerializer(serializers.Serializer):
    latitude = QueryCoordinateField(limit=90)
    longitude = QueryCoordinateField(limit=180)


class EstimateQuerySerializer(serializers.Serializer):
    pickup_latitude = QueryCoordinateField(limit=90)
    pickup_longitude = QueryCoordinateField(limit=180)
    dropoff_latitude = QueryCoordinateField(limit=90, required=False)
    dropoff_longitude = QueryCoordinateField(limit=180, required=False)

    def validate(self, data):
        given = [key in data for key in ("dropoff_latitude", "dropoff_longitude")]
        if any(given) and not all(given):
            raise serializers.ValidationError(
                "Give both dropoff_latitude and dropoff_longitude, or neither."
            )
        return data


class FareEstimateSerializer(serializers.Serializer):
    fare = MoneySerializer()
    distance_km = serializers.FloatField(allow_null=True)
    eta_seconds = serializers.IntegerField(
        allow_null=True, help_text="Real seconds for the nearest free unicorn; null: none free."
    )
    pickup_place = serializers.CharField(
        allow_null=True, help_text="The place the pickup lies in, as a ride names it; or null."
    )
    dropoff_place = serializers.CharField(
        allow_null=True, help_text="The place the drop-off lies in; null without one, or none near."
    )


class UnicornApplicationSerializer(serializers.Serializer):
    # Riders read both once an operator accepts the unicorn.
    name = OneLineTextField(max_length=80)
    color = OneLineTextField(max_length=40)
    gender = serializers.ChoiceField(choices=Unicorn.Gender.choices)
    email = serializers.EmailField(max_length=254)
    motivation = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class UnicornApplicationReceiptSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    detail = serializers.CharField()
