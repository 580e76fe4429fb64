"""What the BI pages show can be reconciled with the payments: a day's payment money per
currency (registered, verified, deleted), and whose day it is (TIME_ZONE's, not UTC's)."""

import csv
import io
from datetime import date

import pytest

from bi.models import DailyAggregate

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 1)  # the 25-hour day


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def day_in_two_currencies():
    for minor in (1_000, 250):  # a day spread over two rows (two writers at once)
        DailyAggregate.objects.create(
            day=DAY, currency="USD", payments_registered=1, payments_registered_minor=minor,
            payments_verified=1, payments_verified_minor=minor, payments_deleted=0,
        )  # fmt: skip
    DailyAggregate.objects.create(
        day=DAY, currency="EUR", payments_registered=2, payments_registered_minor=99_999,
        payments_deleted=1, payments_deleted_minor=1_999,
    )  # fmt: skip


def test_the_list_shows_a_days_payment_money_per_currency_and_whose_day(
    operator_client, day_in_two_currencies, settings
):
    settings.TIME_ZONE = "America/Los_Angeles"
    response = operator_client.get("/admin/bi/dailyaggregate/", {"currency": "USD"})
    assert response.status_code == 200
    [usd] = response.context["cl"].result_list
    page = response.content.decode()

    assert "days in America/Los_Angeles" in page
    assert ">$12.50</td>" in page  # registered and verified: 10.00 + 2.50, in dollars
    assert usd.total_payments_verified_minor == 1_250

    response = operator_client.post(
        "/admin/bi/dailyaggregate/",
        {"action": "export_as_csv", "select_across": "1", "index": "0",
         "_selected_action": list(DailyAggregate.objects.values_list("pk", flat=True))},
    )  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    by_currency = {row["Currency"]: row for row in rows}
    assert by_currency["EUR"]["\ufeffLocal day"] == "2026-11-01"
    # Numbers a spreadsheet adds up, each with its currency.
    assert by_currency["EUR"]["Amount registered"] == "999.99"
    assert by_currency["EUR"]["Amount registered currency"] == "EUR"
    assert by_currency["EUR"]["Amount deleted"] == "19.99"
    assert by_currency["USD"]["Amount verified"] == "12.50"
    assert by_currency["USD"]["Amount verified currency"] == "USD"


def test_the_dashboard_shows_the_money_verified_and_whose_days(
    operator_client, day_in_two_currencies, settings
):
    settings.TIME_ZONE = "America/Los_Angeles"
    page = operator_client.get(
        "/admin/bi/dailyaggregate/dashboard/", {"from": "2026-10-31", "to": "2026-11-02"}
    ).content.decode()

    assert "<dt>Payments verified</dt><dd>2 ($12.50)</dd>" in page
    assert "<dt>Payments registered</dt><dd>4 ($12.50 and €999.99)</dd>" in page
    assert "Days from midnight to midnight, America/Los_Angeles time" in page
