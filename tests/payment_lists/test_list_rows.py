import io
import tracemalloc

import pytest

from payment_lists import rows as list_rows

CURRENCIES = frozenset({"USD", "EUR"})


@pytest.mark.parametrize(
    "text, minor",
    [("12.50", 1250), ("0.01", 1), ("7", 700), ("1000000.5", 100000050), (" 3.10 ", 310)],
)
def test_amounts_become_minor_units(text, minor):
    assert list_rows.parse_amount(text) == minor


@pytest.mark.parametrize(
    "text, reason",
    [
        ("0", "more than zero"),
        ("-1.00", "more than zero"),
        ("1.234", "at most 2 decimals"),
        ("abc", "not a number"),
        ("NaN", "not a number"),
        ("Infinity", "not a number"),
        ("", "not a number"),
        ("1000000000000", "too large"),
        ("1e3", "plain number"),  # Decimal reads 1000.00
        ("1E+2", "plain number"),
        ("1_000", "plain number"),
        ("+5", "plain number"),
        ("12.", "plain number"),
    ],
)
def test_bad_amounts_say_why(text, reason):
    with pytest.raises(ValueError, match=reason):
        list_rows.parse_amount(text)


def test_a_good_row_is_staged_with_upper_case_currency():
    staged, errors = list_rows.check_row(2, ["R-1", "a@b.com", "3.10", "usd", ""], CURRENCIES)
    assert errors == []
    assert staged == ("R-1", "a@b.com", 310, "USD", None)


def test_every_bad_cell_of_a_row_is_reported():
    _, errors = list_rows.check_row(5, ["", "not-mail", "-3", "XXX", "ride?"], CURRENCIES)
    assert [(e.row, e.column) for e in errors] == [
        (5, "reference"),
        (5, "payer_email"),
        (5, "amount"),
        (5, "currency"),
        (5, "ride_id"),
    ]


def test_wrong_column_count_is_one_error():
    _, errors = list_rows.check_row(3, ["only", "two"], CURRENCIES)
    assert [(e.column, e.reason) for e in errors] == [("*", "expected 5 columns, got 2")]


def test_header_must_match_and_bom_is_tolerated():
    good = io.BytesIO(
        "\ufeffreference,payer_email,amount,currency,ride_id\nA,,1.00,USD,\n".encode()
    )
    assert list(list_rows.read_rows(list_rows.open_text(good))) == [
        (2, ["A", "", "1.00", "USD", ""])
    ]
    bad = io.BytesIO(b"ref,amount\nA,1\n")
    with pytest.raises(list_rows.HeaderError, match="header must be"):
        list(list_rows.read_rows(list_rows.open_text(bad)))


def test_blank_lines_are_not_rows():
    text = io.BytesIO(b"reference,payer_email,amount,currency,ride_id\n\nA,,1.00,USD,\n")
    assert [n for n, _ in list_rows.read_rows(list_rows.open_text(text))] == [3]


def test_a_line_longer_than_any_row_is_refused_before_it_is_split():
    """A line of commas was split into as many empty cells, 8 bytes each: 40 MB for these
    5 MB, 1.6 GB for the 200 MB an upload may have, more than the function's 1 GB (killed,
    taken over, killed again). Refused with its line number while it is one string."""
    line = "," * 5_000_000
    text = io.BytesIO(f"{','.join(list_rows.HEADER)}\nA,,1.00,USD,\n{line}\n".encode())
    tracemalloc.start()
    try:
        with pytest.raises(list_rows.LineTooLong, match="Line 3 of the file is longer than"):
            for _ in list_rows.read_rows(list_rows.open_text(text)):
                pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * len(line)
