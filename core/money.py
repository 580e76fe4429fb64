"""Money in integer minor units (cents); Decimal only at the API edge. Never float."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENTS = Decimal(100)


@dataclass(frozen=True)
class Money:
    minor: int
    currency: str

    def as_api(self) -> dict:
        return {"amount": f"{Decimal(self.minor) / CENTS:.2f}", "currency": self.currency}

    def __str__(self) -> str:
        symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(self.currency)
        amount = f"{Decimal(self.minor) / CENTS:,.2f}"
        return f"{symbol}{amount}" if symbol else f"{amount} {self.currency}"


def apply_multiplier(minor: int, multiplier: Decimal) -> int:
    """`minor` times `multiplier`, rounded half up to a whole minor unit."""
    return int((Decimal(minor) * multiplier).quantize(Decimal(1), rounding=ROUND_HALF_UP))
