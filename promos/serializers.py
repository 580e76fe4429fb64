from decimal import Decimal

from django.conf import settings
from rest_framework import serializers

from core.serializers import CoordinateField, MoneyAmountField

MAX_FARE = Decimal("100000.00")


class FareSerializer(serializers.Serializer):
    amount = MoneyAmountField(allow_zero=True)
    currency = serializers.CharField(min_length=3, max_length=3)

    def validate_amount(self, value):
        if value > MAX_FARE:
            raise serializers.ValidationError(f"A fare is at most {MAX_FARE:,}.")
        return value

    def validate_currency(self, value):
        if value.upper() != settings.FARE_CURRENCY:
            raise serializers.ValidationError(f"Fares are in {settings.FARE_CURRENCY}.")
        return value.upper()


class DiscountRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=254)
    latitude = CoordinateField(limit=90)
    longitude = CoordinateField(limit=180)
    ride_id = serializers.UUIDField(required=False, allow_null=True)
    fare = FareSerializer(required=False, allow_null=True)


class DiscountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    discount_multiplier = serializers.DecimalField(max_digits=3, decimal_places=2)
    campaign = serializers.CharField(allow_null=True)
    label = serializers.CharField(allow_null=True)


class ReleaseRequestSerializer(serializers.Serializer):
    ride_id = serializers.UUIDField()


class ReleaseSerializer(serializers.Serializer):
    ride_id = serializers.UUIDField()
    released = serializers.IntegerField(help_text="Awards released by this call.")
