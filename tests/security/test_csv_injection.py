"""CSV formula injection: nothing a submitter writes comes back as a live formula.

Proven elsewhere: a formula in an error value (tests/payments/test_payment_list_workflow.py,
test_formula_in_an_error_value_is_neutralised_in_the_report) and in every text column of
the admin's CSV export (tests/admin/test_csv_export.py). Here: the rule itself, for any
text, and a list whose every column is hostile, downloaded through the API.
"""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import example, given
from hypothesis import strategies as st

from core.csvsafe import neutralise
from payment_lists.models import PaymentList
from payments.models import Subscription
from tests.conftest import client_for
from tests.factories import FinanceFactory, OrganizationFactory
from tests.payment_lists.lists import HEADER
from tests.security import FUZZ

# What spreadsheets evaluate at the start of a cell (OWASP's list).
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@FUZZ
@given(text=st.text(max_size=30))
@example(text='=HYPERLINK("http://evil.example","x")')
@example(text="@SUM(1+1)*cmd|' /C calc'!A0")
@example(text="\t=1")
def test_a_neutralised_cell_never_starts_a_formula(text):
    cell = neutralise(text)
    assert cell in (text, "'" + text)  # nothing lost: the quote only marks it as text
    assert not cell.startswith(TRIGGERS)


PAYLOADS = ['=HYPERLINK("http://evil.example","click")', "+1+1", "-2+3", "@SUM(A1)", "\t=1"]


@pytest.fixture
def finance_api(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PAYMENT_LIST_RUNNER = "inline"
    finance = FinanceFactory()
    organization = OrganizationFactory()
    organization.members.add(finance)
    Subscription.objects.create(
        organization=organization, plan="pro", starts_at=timezone.now() - timedelta(days=1),
        max_rows_per_list=100, max_total_minor_per_list=10**9,
    )  # fmt: skip
    return client_for(finance)


def test_hostile_cells_in_every_column_come_back_neutralised(
    finance_api, django_capture_on_commit_callbacks
):
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(HEADER.split(","))
    for payload in PAYLOADS:
        writer.writerow([payload] * 5)  # every column hostile
        writer.writerow([payload])  # the wrong number of columns: the whole row is shown
    upload = io.BytesIO(out.getvalue().encode())
    upload.name = "hostile.csv"
    with django_capture_on_commit_callbacks(execute=True):
        answer = finance_api.post("/api/payment-lists/", {"file": upload}, format="multipart")
    assert answer.status_code == 202
    payment_list = PaymentList.objects.get(pk=answer.json()["id"])
    assert payment_list.status == "failed" and payment_list.errors_count

    report = finance_api.get(f"/api/payment-lists/{payment_list.pk}/error-report/")
    assert report.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["row", "column", "value", "reason"]
    values = [row[2] for row in rows[1:]]
    assert len(values) >= 2 * len(PAYLOADS)
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(TRIGGERS), row
    assert "'" + PAYLOADS[0] in values  # kept whole, marked as text
