"""Serializer fields more than one app's API uses."""

import math

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


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
