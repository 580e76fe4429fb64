"""Form fields more than one app's admin uses."""

from decimal import Decimal

from django import forms

from core.money import CENTS


class AmountInMinorUnitsField(forms.DecimalField):
    """A money amount typed as people write it ("1500.00"), kept in minor units (150000),
    for a model's `*_minor` integer field: the model's own validators still check it."""

    def __init__(self, **kwargs):
        for minor_units_only in ("min_value", "max_value", "max_digits", "decimal_places"):
            kwargs.pop(minor_units_only, None)
        super().__init__(min_value=Decimal(0), decimal_places=2, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, int):  # the stored minor units, shown as an amount
            return f"{Decimal(value) / CENTS:.2f}"
        return value

    def clean(self, value):
        amount = super().clean(value)
        return None if amount is None else int(amount * CENTS)

    def has_changed(self, initial, data):
        try:
            return self.clean(data) != initial
        except forms.ValidationError:
            return True
