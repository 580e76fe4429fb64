"""System checks of the money settings: a stage that would charge or count money wrongly
refuses to start (`manage.py check`, `migrate` at deploy, `runserver`), with a sentence.

Money is kept in hundredths of the currency (cents) everywhere, and amounts are read with at
most 2 decimals (DESIGN.md), so only currencies whose minor unit is the hundredth fit.
"""

from decimal import Decimal

from django.conf import settings
from django.core.checks import Error, register

# ISO 4217 currencies whose minor unit is not 1/100 (the rest, USD, EUR, GBP ..., are).
_DECIMALS_OTHER_THAN_TWO = {
    **{code: 0 for code in ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG")},
    **{code: 0 for code in ("RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF")},
    **{code: 3 for code in ("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND")},
    **{code: 4 for code in ("CLF", "UYW")},
}


def _currency_errors(code: str, setting: str) -> list[Error]:
    if not (len(code) == 3 and code.isascii() and code.isalpha() and code.isupper()):
        return [
            Error(
                f"{setting} has {code!r}, which is not a currency code: "
                "use three capital letters, e.g. USD.",
                id="core.E001",
            )
        ]
    decimals = _DECIMALS_OTHER_THAN_TWO.get(code)
    if decimals is not None:
        return [
            Error(
                f"{setting} has {code}, whose amounts have {decimals} decimals: Wild Rydes "
                "keeps money in hundredths (cents), so it cannot charge or count in "
                f"{code}. Remove it.",
                id="core.E002",
            )
        ]
    return []


@register()
def check_money_settings(app_configs=None, **kwargs) -> list[Error]:
    errors = []
    for code in settings.PAYMENT_CURRENCIES:
        errors += _currency_errors(code, "PAYMENT_CURRENCIES")
    if settings.FARE_CURRENCY not in settings.PAYMENT_CURRENCIES:
        errors.append(
            Error(
                f"FARE_CURRENCY is {settings.FARE_CURRENCY!r}, which is not in "
                "PAYMENT_CURRENCIES: fares and fees are registered as payments in it. Add "
                "it there or choose one of them.",
                id="core.E003",
            )
        )
    fee = Decimal(settings.RIDE_CANCELLATION_FEE)
    if fee < 0 or fee != fee.quantize(Decimal("0.01")):
        errors.append(
            Error(
                f"RIDE_CANCELLATION_FEE is {fee}: use an amount of at least 0 with at most "
                "2 decimals, e.g. 5.00.",
                id="core.E004",
            )
        )
    for name in ("FARE_BASE_MINOR", "FARE_PER_KM_MINOR", "FARE_FLAT_MINOR"):
        if getattr(settings, name) < 0:
            errors.append(
                Error(
                    f"{name} is {getattr(settings, name)}: a fare part cannot be negative "
                    "(it is in cents: 500 is 5.00).",
                    id="core.E005",
                )
            )
    return errors
