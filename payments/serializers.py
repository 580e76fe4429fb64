from decimal import Decimal

from django.conf import settings
from rest_framework import serializers

from core.money import CENTS, Money
from core.serializers import MoneyAmountField
from payments.models import Payment

# A payment reference, wherever it comes from (the API, a payment list's rows).
REFERENCE_PATTERN = r"[A-Za-z0-9._:/-]{1,64}"
REFERENCE_RULE = "Use 1 to 64 letters, digits or . _ : / -"


class PaymentCreateSerializer(serializers.Serializer):
    amount = MoneyAmountField()  # a decimal string, "12.50"; never a JSON number
    currency = serializers.CharField(max_length=3)
    reference = serializers.RegexField(
        rf"^{REFERENCE_PATTERN}$", max_length=64, error_messages={"invalid": REFERENCE_RULE}
    )
    ride = serializers.UUIDField(required=False, allow_null=True)
    payer_email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    organization = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text=(
            "The id of the organization the payment is for, among those you act for. "
            "Needed when you act for several; a service key's payments are its organization's."
        ),
    )

    def validate_currency(self, value: str) -> str:
        code = value.upper()
        if code not in settings.PAYMENT_CURRENCIES:
            known = ", ".join(settings.PAYMENT_CURRENCIES)
            raise serializers.ValidationError(f"Unknown currency {value!r}; use one of {known}.")
        return code

    def validate_amount(self, value: Decimal) -> int:
        return int(value * CENTS)


class PaymentSerializer(serializers.ModelSerializer):
    amount = serializers.SerializerMethodField()
    organization = serializers.StringRelatedField()

    class Meta:
        model = Payment
        fields = [
            "id",
            "reference",
            "amount",
            "currency",
            "status",
            "ride",
            "payer_email",
            "organization",
            "registered_at",
            "registered_by",
            "verified_at",
            "verified_by",
            "deleted_at",
            "deleted_by",
        ]

    def get_amount(self, payment) -> str:
        return Money(payment.amount_minor, payment.currency).as_api()["amount"]
