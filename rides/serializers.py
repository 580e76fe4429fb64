import math

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.money import Money
from payments.selectors import fare_payment_ids
from rides.models import Ride, Unicorn


@extend_schema_field(OpenApiTypes.DOUBLE)
class CoordinateField(serializers.Field):
    """A JSON number within [-limit, limit]; strings, booleans, NaN and Infinity are refused."""

    def __init__(self, *, limit: float, **kwargs):
        self.limit = limit
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise serializers.ValidationError("Must be a number of degrees.")
        try:
            value = float(data)
        except OverflowError:  # an integer like 10**400: no float holds it
            raise serializers.ValidationError("Must be a finite number of degrees.") from None
        if not math.isfinite(value):
            raise serializers.ValidationError("Must be a finite number of degrees.")
        if not -self.limit <= value <= self.limit:
            raise serializers.ValidationError(
                f"Must be between -{self.limit:g} and {self.limit:g} degrees."
            )
        return value

    def to_representation(self, value):
        return value


class PointSerializer(serializers.Serializer):
    latitude = CoordinateField(limit=90)
    longitude = CoordinateField(limit=180)


class RideRequestSerializer(serializers.Serializer):
    pickup = PointSerializer()
    dropoff = PointSerializer(required=False, allow_null=True)


class UnicornSerializer(serializers.Serializer):
    name = serializers.CharField()
    color = serializers.CharField()
    gender = serializers.CharField()


class DispatchedUnicornSerializer(UnicornSerializer):
    """The unicorn of a ride, with where it set off from (the map animates from there)."""

    pronoun = serializers.CharField(help_text="his, her or their: for sentences about it")
    start = PointSerializer()


class MoneySerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()


def _iso(moment):
    return serializers.DateTimeField().to_representation(moment) if moment else None


class RideSerializer(serializers.ModelSerializer):
    rider = serializers.EmailField(source="rider.email")
    unicorn = serializers.SerializerMethodField()
    pickup = serializers.SerializerMethodField()
    dropoff = serializers.SerializerMethodField()
    fare = serializers.SerializerMethodField()
    payment = serializers.SerializerMethodField()

    class Meta:
        model = Ride
        fields = [
            "id",
            "status",
            "rider",
            "unicorn",
            "eta_seconds",
            "pickup",
            "dropoff",
            "discount_multiplier",
            "discount_label",
            "fare",
            "requested_at",
            "completed_at",
            "cancelled_at",
            "payment",
        ]

    def to_representation(self, ride):
        """Built directly: a ModelSerializer walks and copies its fields for every ride, and
        this answer is on the hot path. The declared fields still describe it in the schema."""
        return {
            "id": str(ride.id),
            "status": ride.status,
            "rider": ride.rider.email,
            "unicorn": self.get_unicorn(ride),
            "eta_seconds": ride.eta_seconds,
            "pickup": self.get_pickup(ride),
            "dropoff": self.get_dropoff(ride),
            "discount_multiplier": f"{ride.discount_multiplier:.2f}",
            "discount_label": ride.discount_label,
            "fare": self.get_fare(ride),
            "requested_at": _iso(ride.requested_at),
            "completed_at": _iso(ride.completed_at),
            "cancelled_at": _iso(ride.cancelled_at),
            "payment": self.get_payment(ride),
        }

    def get_unicorn(self, ride) -> DispatchedUnicornSerializer:
        unicorn = ride.unicorn
        return {
            "name": unicorn.name,
            "color": unicorn.color,
            "gender": unicorn.gender,
            "pronoun": unicorn.pronoun,
            "start": {
                "latitude": ride.unicorn_start_latitude,
                "longitude": ride.unicorn_start_longitude,
            },
        }

    def get_pickup(self, ride) -> PointSerializer:
        return {"latitude": ride.pickup_latitude, "longitude": ride.pickup_longitude}

    def get_dropoff(self, ride) -> PointSerializer(allow_null=True):
        if not ride.has_dropoff:
            return None
        return {"latitude": ride.dropoff_latitude, "longitude": ride.dropoff_longitude}

    def get_fare(self, ride) -> MoneySerializer:
        return Money(ride.fare_minor, ride.fare_currency).as_api()

    def get_payment(self, ride) -> str | None:
        """The id of the ride's fare payment, once the ride is completed."""
        if getattr(ride, "fare_payment", None) is not None:
            return str(ride.fare_payment.id)
        if ride.status != Ride.Status.COMPLETED:
            return None
        known = self.context.get("fare_payments")
        if known is None:
            known = fare_payment_ids([ride.id])
        payment_id = known.get(ride.id)
        return str(payment_id) if payment_id else None


class FareEstimateSerializer(serializers.Serializer):
    fare = MoneySerializer()
    distance_km = serializers.FloatField(allow_null=True)


class UnicornApplicationSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    color = serializers.CharField(max_length=40)
    gender = serializers.ChoiceField(choices=Unicorn.Gender.choices)
    email = serializers.EmailField(max_length=254)
    motivation = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class UnicornApplicationReceiptSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    detail = serializers.CharField()
