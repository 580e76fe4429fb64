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


class RiderPaymentSerializer(serializers.ModelSerializer):
    """A payment as its payer (a rider) sees it: what was paid, for what, and when; not
    which staff member or service registered, verified or deleted it."""

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
            "verified_at",
            "deleted_at",
            "deletion_reason",
        ]
        extra_kwargs = {
            "deletion_reason": {
                "help_text": "Why it was deleted, if not simply taken back: fee_waived, an "
                "operator forgave the ride's fee (the rider owes nothing for it). Empty "
                "otherwise."
            }
        }

    def get_amount(self, payment) -> str:
        return Money(payment.amount_minor, payment.currency).as_api()["amount"]


# Who handled it: in finance's and services' answers only. Not required in the schema:
# the same operations answer riders (RiderPaymentSerializer), whose answers lack them.
_HANDLED_BY = "In answers to finance staff and services only (not to the payer)."


class PaymentSerializer(RiderPaymentSerializer):
    """A payment as finance staff and services see it: who registered, verified or
    deleted it as well (an e-mail, or service:<name>)."""

    registered_by = serializers.CharField(required=False, help_text=_HANDLED_BY)
    verified_by = serializers.CharField(required=False, help_text=_HANDLED_BY)
    deleted_by = serializers.CharField(required=False, help_text=_HANDLED_BY)

    class Meta(RiderPaymentSerializer.Meta):
        fields = [*RiderPaymentSerializer.Meta.fields, "registered_by", "verified_by", "deleted_by"]
