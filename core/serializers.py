"""Serializer fields more than one app's API uses."""

import math
from decimal import Decimal

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.money import PLAIN_DECIMAL
from core.validators import validate_one_line


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


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^[0-9]{1,10}(\.[0-9]{1,2})?$",
        "example": "12.50",
        "description": "A decimal string with at most 2 decimals; never a JSON number.",
    }
)
class MoneyAmountField(serializers.Field):
    """An amount of money as the API takes it: a decimal string, "12.50" (digits, then
    optionally a point and up to `decimal_places` digits: the currency's minor unit),
    positive, at most `max_whole_digits` digits before the point. A JSON number is refused
    (a float is not money: 0.1 + 0.2), and so are exponents ("1e3"), never rounded or read
    as something else. Gives a Decimal."""

    default_error_messages = {
        "not_a_string": 'Send the amount as a string, e.g. "12.50".',
        "invalid": 'Write the amount as a plain decimal number, e.g. "12.50".',
        "max_decimal_places": "Use at most {decimal_places} decimals (cents).",
        "max_whole_digits": "Use at most {max_whole_digits} digits before the decimal point.",
        "min_value": "The amount must be more than zero.",
        "zero_or_more": "The amount must be zero or more.",
    }

    def __init__(
        self, *, decimal_places: int = 2, max_whole_digits: int = 10, allow_zero=False, **kwargs
    ):
        self.decimal_places = decimal_places
        self.max_whole_digits = max_whole_digits
        self.allow_zero = allow_zero
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        match = PLAIN_DECIMAL.fullmatch(data.strip())
        if match is None:
            self.fail("invalid")
        if len(match["fraction"] or "") > self.decimal_places:
            self.fail("max_decimal_places", decimal_places=self.decimal_places)
        if len(match["whole"].lstrip("0")) > self.max_whole_digits:
            self.fail("max_whole_digits", max_whole_digits=self.max_whole_digits)
        amount = Decimal(match.group(0))
        if amount < 0 or (amount == 0 and not self.allow_zero):
            self.fail("zero_or_more" if self.allow_zero else "min_value")
        return amount

    def to_representation(self, value):
        return f"{value:.{self.decimal_places}f}"


class OneLineTextField(serializers.CharField):
    """A line of text other people will read (a name, a colour): any script, but no
    control or text-direction characters (`core.validators.validate_one_line`)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators.append(validate_one_line)
