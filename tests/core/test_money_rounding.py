"""Money's rounding, checked against integer arithmetic (no Decimal, no float): a discount
multiplier times a fare rounds half up to a whole cent; the fare plus what the discount took
off is always the fare before discount (BI's discounts, the campaign budget's spend and the
receipt's discount line are base - fare); the text and the API's amount are the minor units
exactly, whatever the size."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from core.money import Money, apply_multiplier

MINOR = st.integers(min_value=0, max_value=10**15)
# Multipliers as the promo service gives them: two decimals, 0.01 to 1.00.
HUNDREDTHS = st.integers(min_value=1, max_value=100)


@given(MINOR, HUNDREDTHS)
def test_a_multiplier_rounds_half_up_to_a_whole_minor_unit(minor, hundredths):
    multiplier = Decimal(hundredths) / 100
    exact_times_200 = minor * hundredths * 2  # (minor x hundredths / 100) x 200
    assert apply_multiplier(minor, multiplier) == (exact_times_200 + 100) // 200


def test_the_half_cent_goes_up_and_what_is_below_it_down():
    assert apply_multiplier(1250, Decimal("0.85")) == 1063  # 1062.5
    assert apply_multiplier(1249, Decimal("0.85")) == 1062  # 1061.65
    assert apply_multiplier(1, Decimal("0.50")) == 1  # 0.5
    assert apply_multiplier(1, Decimal("0.49")) == 0


@given(MINOR, HUNDREDTHS)
def test_the_fare_and_its_discount_add_up_to_the_fare_before_it(minor, hundredths):
    fare = apply_multiplier(minor, Decimal(hundredths) / 100)
    assert 0 <= fare <= minor
    assert fare + (minor - fare) == minor


@given(MINOR, st.sampled_from(["USD", "EUR", "GBP", "CHF"]))
def test_an_amount_reads_as_its_minor_units_exactly(minor, currency):
    whole, cents = divmod(minor, 100)
    api = Money(minor, currency).as_api()
    assert api == {"amount": f"{whole}.{cents:02d}", "currency": currency}
    text = str(Money(minor, currency))
    assert text.replace(",", "").endswith(
        f"{whole}.{cents:02d}" + ("" if currency != "CHF" else " CHF")
    )
    assert f"{whole:,}.{cents:02d}" in text
