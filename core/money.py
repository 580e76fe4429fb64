"""Money in integer minor units (cents); Decimal only at the API edge. Never float."""

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENTS = Decimal(100)
# How an amount is written, by the API and in payment lists: digits, then optionally a point
# and digits (a minus sign so that a negative amount is told it must be more than zero).
# Never a form Python's Decimal also reads: "1e3", "1_000", "+5", "12.".
PLAIN_DECIMAL = re.compile(r"-?(?P<whole>[0-9]+)(?:\.(?P<fraction>[0-9]+))?")


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
