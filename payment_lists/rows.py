"""Reading a payment list: streamed, row by row, with each row's format checked.

Checks that need the database (unique reference, ride exists) run later in SQL on the
staged rows, so nothing here holds more than one row in memory.
"""

import csv
import io
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from accounts.models import canonical_email
from core.money import PLAIN_DECIMAL
from payments.serializers import REFERENCE_PATTERN, REFERENCE_RULE
from payments.services import reserved_reference_sentence

HEADER = ["reference", "payer_email", "amount", "currency", "ride_id"]
MAX_REFERENCE = 64
MAX_EMAIL = 254  # the payer_email columns
MAX_AMOUNT_MINOR = 10**12
SHOWN = 200  # how much of a bad value the report repeats


def shown(text: str) -> str:
    """A cell as the error report and the database can hold it: no NUL, not too long."""
    return text.replace("\x00", "\\0")[:SHOWN]


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    value: str
    reason: str

    def as_list(self) -> list:
        return [self.row, self.column, self.value, self.reason]


class HeaderError(Exception):
    pass


class LineTooLong(Exception):
    """A line of the file far longer than any payment row (a few hundred characters)."""


# The longest line read: a row's five cells at csv's own 128 KiB field limit fit in it, and
# a line of bare commas stays a few MB of cells (split, each cell costs a pointer).
MAX_LINE = 1 << 20


def open_text(binary) -> io.TextIOWrapper:
    """UTF-8 text from a binary file, tolerating a BOM."""
    return io.TextIOWrapper(binary, encoding="utf-8-sig", newline="", errors="strict")


def _lines(text) -> Iterator[str]:
    """The file's lines, each refused (LineTooLong) before csv splits it if it is longer
    than MAX_LINE."""
    for number, line in enumerate(text, start=1):
        if len(line) > MAX_LINE:
            raise LineTooLong(
                f"Line {number:,} of the file is longer than {MAX_LINE:,} characters; "
                "a payment row is a few hundred."
            )
        yield line


def read_rows(text) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) for every data row; the header is row 1."""
    reader = csv.reader(_lines(text))
    try:
        header = next(reader)
    except StopIteration:
        raise HeaderError("The file is empty; expected the header " + ",".join(HEADER)) from None
    if [cell.strip().lower() for cell in header] != HEADER:
        raise HeaderError(
            f"The header must be {','.join(HEADER)} (found {shown(','.join(header))})."
        )
    for number, cells in enumerate(reader, start=2):
        if cells:  # a blank line is not a row
            yield number, cells


def parse_amount(text: str) -> int:
    """'12.50' -> 1250. Positive, at most two decimals, written plainly: a form Python's
    Decimal also reads ('1e3', '1_000', '+5') is refused, not read as another amount."""
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError("not a number") from None
    if not amount.is_finite():
        raise ValueError("not a number")
    if not PLAIN_DECIMAL.fullmatch(text.strip()):
        raise ValueError("write it as a plain number, e.g. 12.50")
    if amount <= 0:
        raise ValueError("must be more than zero")
    if amount.adjusted() >= 12:  # checked first: 1e999999999 * 100 would overflow
        raise ValueError("too large")
    if amount.as_tuple().exponent < -2:
        raise ValueError("at most 2 decimals")
    minor = int(amount * 100)
    if minor > MAX_AMOUNT_MINOR:
        raise ValueError("too large")
    return minor


def check_row(number: int, cells: list[str], currencies: frozenset) -> tuple[tuple, list[RowError]]:
    """The staged row (reference, email, minor, currency, ride) or the row's errors."""
    if len(cells) != len(HEADER):
        value = shown(",".join(cells))
        return (), [
            RowError(number, "*", value, f"expected {len(HEADER)} columns, got {len(cells)}")
        ]
    with_nul = [
        RowError(number, column, shown(cell), "contains a NUL character")
        for column, cell in zip(HEADER, cells, strict=True)
        if "\x00" in cell
    ]
    if with_nul:  # no database stores it in text, so nothing else about the row matters
        return (), with_nul
    reference, email, amount, currency, ride = (cell.strip() for cell in cells)
    errors = []
    if not reference:
        errors.append(RowError(number, "reference", reference, "missing"))
    elif len(reference) > MAX_REFERENCE:
        errors.append(
            RowError(number, "reference", shown(reference), f"longer than {MAX_REFERENCE}")
        )
    elif not re.fullmatch(REFERENCE_PATTERN, reference):  # exactly as the API checks it
        errors.append(RowError(number, "reference", shown(reference), REFERENCE_RULE))
    elif reserved := reserved_reference_sentence(reference):  # a ride's fare: the API's rule
        errors.append(RowError(number, "reference", shown(reference), reserved))
    if len(email) > MAX_EMAIL:
        errors.append(RowError(number, "payer_email", shown(email), f"longer than {MAX_EMAIL}"))
    elif email:
        try:
            validate_email(email)
        except ValidationError:
            errors.append(RowError(number, "payer_email", shown(email), "not an e-mail address"))
    try:
        minor = parse_amount(amount)
    except ValueError as error:
        errors.append(RowError(number, "amount", shown(amount), str(error)))
        minor = 0
    if currency.upper() not in currencies:
        errors.append(RowError(number, "currency", shown(currency), "unknown currency"))
    ride_id = None
    if ride:
        try:
            ride_id = uuid.UUID(ride)
        except ValueError:
            errors.append(RowError(number, "ride_id", shown(ride), "not a ride id"))
    if errors:
        return (), errors
    # The payer's address in the form accounts store: the import finds the account by it.
    return (reference, canonical_email(email), minor, currency.upper(), ride_id), []


def known_currencies() -> frozenset:
    return frozenset(code.upper() for code in settings.PAYMENT_CURRENCIES)
