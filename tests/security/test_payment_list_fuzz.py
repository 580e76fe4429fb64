"""The payment-list parser and the ValidateList step under generated, hostile files.

Properties: reading a row never raises, whatever its cells; every bad row is reported in
the error report, with its row number and column, and no good row is; any file at all
ends the workflow as imported or as failed with a reason the submitter can act on, never
"something went wrong" (a crash caught by the workflow).
"""

import csv
import io
import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import example, given, settings
from hypothesis import strategies as st

from payment_lists import rows as list_rows
from payment_lists import runs
from payment_lists import steps as list_steps
from payment_lists.models import PaymentList, PaymentListRow
from payments.models import Payment, Subscription
from tests.factories import OrganizationFactory
from tests.payment_lists.lists import run_list
from tests.security import FUZZ

CURRENCIES = frozenset({"USD", "EUR", "GBP"})
HEADER = list_rows.HEADER

# Text as hostile files carry it: control characters and NUL, formulas, separators,
# quotes, line breaks, non-ASCII digits and huge exponents.
nasty = st.sampled_from(
    [
        "", " ", "\x00", "a\x00b", "=1+1", "+SUM(A1)", "-2", "@cmd", "\t", "\r\n", '"', ",",
        "1e999999999", "1E+1000000", "NaN", "-0", "0.001", "١٢", "1_000", "9" * 400,
        "a" * 250 + "@example.com", "x@" + "b" * 300 + ".com", "\ufeff", "\u202e",
    ]
)  # fmt: skip
cell = st.one_of(nasty, st.text(max_size=40))
cells = st.lists(cell, max_size=7)


@FUZZ
@given(number=st.integers(min_value=2, max_value=10**7), cells=cells)
@example(number=2, cells=["R-1", "", "1e999999999", "USD", ""])
@example(number=3, cells=["R\x00", "a@b.com", "1.00", "USD", ""])
@example(number=4, cells=["R-2", "a" * 250 + "@example.com", "1.00", "USD", ""])
def test_reading_a_row_never_raises_and_says_what_is_wrong(number, cells):
    staged, errors = list_rows.check_row(number, cells, CURRENCIES)
    assert bool(staged) != bool(errors)
    for error in errors:
        assert error.row == number
        assert error.column in (*HEADER, "*")
        assert error.reason
        assert "\x00" not in error.value  # the report and the database can hold it
    if staged:
        reference, email, minor, currency, ride = staged
        assert 0 < len(reference) <= list_rows.MAX_REFERENCE
        assert len(email) <= 254
        assert isinstance(minor, int) and 0 < minor <= list_rows.MAX_AMOUNT_MINOR
        assert currency in CURRENCIES
        assert ride is None or isinstance(ride, uuid.UUID)
        assert not any("\x00" in str(part) for part in staged)


@FUZZ
@given(text=st.one_of(nasty, st.text(max_size=30)))
@example(text="1e999999999")
@example(text="-1E+999999")
def test_amounts_are_minor_units_or_a_reason(text):
    try:
        minor = list_rows.parse_amount(text)
    except ValueError as error:
        assert str(error)
    else:
        assert isinstance(minor, int) and 0 < minor <= list_rows.MAX_AMOUNT_MINOR


# --- the ValidateList step, on the database -------------------------------------------------

# A defect: (column it is reported under, how it spoils a good row's cells).
DEFECTS = {
    "reference missing": ("reference", lambda c: ["", *c[1:]]),
    "reference too long": ("reference", lambda c: ["r" * 65, *c[1:]]),
    "reference with NUL": ("reference", lambda c: [c[0] + "\x00", *c[1:]]),
    "email not an email": ("payer_email", lambda c: [c[0], "not-mail", *c[2:]]),
    "email too long": ("payer_email", lambda c: [c[0], "a" * 250 + "@example.com", *c[2:]]),
    "amount zero": ("amount", lambda c: [*c[:2], "0", *c[3:]]),
    "amount negative": ("amount", lambda c: [*c[:2], "-5.00", *c[3:]]),
    "amount 3 decimals": ("amount", lambda c: [*c[:2], "1.234", *c[3:]]),
    "amount text": ("amount", lambda c: [*c[:2], "twelve", *c[3:]]),
    "amount huge exponent": ("amount", lambda c: [*c[:2], "1e999999999", *c[3:]]),
    "amount too large": ("amount", lambda c: [*c[:2], "1e20", *c[3:]]),
    "currency unknown": ("currency", lambda c: [*c[:3], "XXX", c[4]]),
    "ride id malformed": ("ride_id", lambda c: [*c[:4], "ride?"]),
    "ride unknown": ("ride_id", lambda c: [*c[:4], str(uuid.uuid4())]),
    "column missing": ("*", lambda c: c[:4]),
    "column extra": ("*", lambda c: [*c, "extra"]),
    "reference already paid": ("reference", lambda c: ["EXISTING", *c[1:]]),
}

good_row = st.tuples(
    st.sampled_from(["", "payer@example.com", "Payer@Example.COM"]),
    st.decimals(min_value="0.01", max_value="99999.99", places=2).map(str),
    st.sampled_from(["USD", "eur", " GBP "]),
)
row_plan = st.tuples(good_row, st.one_of(st.none(), st.sampled_from(sorted(DEFECTS))))


@pytest.fixture
def organization(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    org = OrganizationFactory()
    Subscription.objects.create(
        organization=org, plan="fuzz", starts_at=timezone.now() - timedelta(days=1),
        max_rows_per_list=10**6, max_total_minor_per_list=10**15,
    )  # fmt: skip
    return org


def new_list(organization, content: bytes) -> PaymentList:
    payment_list = PaymentList.objects.create(organization=organization, submitted_by="fuzz")
    payment_list.file.save("fuzz.csv", io.BytesIO(content), save=True)
    return payment_list


def report_rows(payment_list) -> list[list[str]]:
    with payment_list.error_report.open("rb") as report:
        return list(csv.reader(io.TextIOWrapper(report, encoding="utf-8-sig", newline="")))


# The two tests below run the steps on the database (~25 ms an example on SQLite, more on
# PostgreSQL): they draw 40 examples, not hypothesis's 100. Every defect is checked in every
# run by an explicit example (each in its own row among good ones), which 100 draws did not
# promise; the draws add the mixes (several defects, side by side, at any row, none at all)
# and whole hostile files. Hostile cells, row by row, keep 100 draws in the cheap tests above.
DB_EXAMPLES = 40
EVERY_DEFECT = [
    (("payer@example.com", "12.50", "USD"), None),
    *((("", "0.01", " GBP "), defect) for defect in sorted(DEFECTS)),
    (("Payer@Example.COM", "99999.99", "eur"), None),
]


@settings(FUZZ, max_examples=DB_EXAMPLES)
@given(plan=st.lists(row_plan, min_size=1, max_size=12))
@example(plan=EVERY_DEFECT)
@example(plan=[(("", "1.00", "USD"), None)] * 3)
def test_validate_list_reports_every_bad_row_and_no_good_one(organization, plan):
    with transaction.atomic():
        Payment.objects.create(
            reference="EXISTING", amount_minor=1, currency="USD", registered_by="fuzz"
        )
        out = io.StringIO(newline="")
        writer = csv.writer(out)
        writer.writerow(HEADER)
        bad = {}
        for index, ((email, amount, currency), defect) in enumerate(plan):
            number = index + 2
            cells = [f"REF-{number}", email, amount, currency, ""]
            if defect:
                column, spoil = DEFECTS[defect]
                cells = spoil(cells)
                bad[number] = column
            writer.writerow(cells)
        payment_list = new_list(organization, out.getvalue().encode("utf-8"))
        token = runs.claim_new(payment_list.pk)
        payload = list_steps.register_list({"payment_list_id": payment_list.pk, "run": token})
        try:
            list_steps.validate_list(payload)
        except list_steps.ListRejected:
            payment_list.refresh_from_db()
            reported = {}
            for row, column, _value, reason in report_rows(payment_list)[1:]:
                assert reason
                reported.setdefault(int(row), set()).add(column)
            assert set(reported) == set(bad)
            for number, column in bad.items():
                assert column in reported[number], (number, reported[number])
        else:
            assert not bad
            assert PaymentListRow.objects.filter(payment_list=payment_list).count() == len(plan)
        transaction.set_rollback(True)


header_line = ",".join(HEADER).encode()
hostile_file = st.one_of(
    st.binary(max_size=400),
    st.lists(st.lists(cell, max_size=6), max_size=8).map(
        lambda rows: (
            header_line
            + b"\n"
            + "\n".join(",".join(r) for r in rows).encode("utf-8", "surrogatepass")
        )
    ),
    st.text(max_size=300).map(lambda t: header_line + b"\n" + t.encode("utf-8", "surrogatepass")),
)


@settings(FUZZ, max_examples=DB_EXAMPLES)
@given(content=hostile_file)
@example(content=header_line + b"\nR1,,1e999999999,USD,\n")
@example(content=header_line + b"\nR\x00,,1.00,USD,\n")
@example(content=b"refer\x00ence,payer_email,amount,currency,ride_id\nR1,,1.00,USD,\n")
@example(content=header_line + b"\nR1,," + b"a" * 300 + b"@example.com,1.00,USD,\n")
def test_any_file_ends_imported_or_failed_with_a_reason(organization, content):
    with transaction.atomic():
        payment_list = new_list(organization, content)
        run_list(payment_list)
        assert payment_list.status in ("imported", "failed")
        if payment_list.status == "failed":
            assert payment_list.failure_reason
            assert "went wrong" not in payment_list.failure_reason, payment_list.failure_reason
            assert not Payment.objects.filter(payment_list_id=payment_list.pk).exists()
        transaction.set_rollback(True)
