"""A stage whose money settings would charge or count wrongly refuses to start, and says why."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from core.checks import check_money_settings


def messages(**money_settings) -> list[str]:
    with override_settings(**money_settings):
        return [error.msg for error in check_money_settings()]


def test_the_default_money_settings_pass():
    assert messages() == []


def test_a_currency_without_cents_is_refused_with_its_decimals():
    found = messages(PAYMENT_CURRENCIES=["USD", "JPY", "KWD"])
    assert len(found) == 2
    assert "JPY, whose amounts have 0 decimals" in found[0]
    assert "KWD, whose amounts have 3 decimals" in found[1]


@pytest.mark.parametrize("code", ["usd", "EURO", "US", "ÜSD", " USD"])
def test_something_that_is_not_a_currency_code_is_refused(code):
    assert messages(PAYMENT_CURRENCIES=["USD", code]) == [
        f"PAYMENT_CURRENCIES has {code!r}, which is not a currency code: "
        "use three capital letters, e.g. USD."
    ]


def test_the_fare_currency_must_be_a_payment_currency():
    (found,) = messages(FARE_CURRENCY="CAD")
    assert found.startswith("FARE_CURRENCY is 'CAD', which is not in PAYMENT_CURRENCIES")


@pytest.mark.parametrize("fee", ["-1.00", "5.005"])
def test_a_cancellation_fee_below_zero_or_below_a_cent_is_refused(fee):
    (found,) = messages(RIDE_CANCELLATION_FEE=Decimal(fee))
    assert found.startswith(f"RIDE_CANCELLATION_FEE is {fee}:")


def test_a_negative_fare_part_is_refused():
    (found,) = messages(FARE_PER_KM_MINOR=-150)
    assert found.startswith("FARE_PER_KM_MINOR is -150: a fare part cannot be negative")


def test_manage_check_fails_on_them_as_migrate_at_deploy_does():
    with (
        override_settings(PAYMENT_CURRENCIES=["USD", "JPY"]),
        pytest.raises(SystemCheckError, match="cannot charge or count in JPY"),
    ):
        call_command("check")
