"""BI keeps money per currency: the subscriber folds each currency into its own row, and
the dashboard shows each currency apart; nothing adds different currencies together."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from bi import subscribers
from bi.models import CampaignDailySpend, DailyAggregate

pytestmark = pytest.mark.django_db

URL = "/admin/bi/dailyaggregate/dashboard/"


def envelope(kind: str, **data) -> dict:
    return {"id": "e", "type": kind, "version": 1,
            "occurred_at": timezone.now().isoformat(), "data": data}  # fmt: skip


def svg(page, chart_id: str) -> str:
    match = re.search(rf'<svg class="wr-chart" id="{chart_id}".*?</svg>', page, re.S)
    assert match, chart_id
    return match.group(0)


def test_payments_in_different_currencies_are_folded_apart():
    subscribers.handle_batch(
        [
            envelope("payments.PaymentRegistered", amount_minor=1000, currency="USD"),
            envelope("payments.PaymentRegistered", amount_minor=2000, currency="EUR"),
            envelope("payments.PaymentRegistered", amount_minor=500, currency="EUR"),
        ]
    )

    rows = {
        row.currency: (row.payments_registered, row.payments_registered_minor)
        for row in DailyAggregate.objects.filter(day=timezone.localdate())
    }
    assert rows == {"USD": (1, 1000), "EUR": (2, 2500)}


def test_the_dashboard_shows_each_currency_apart(operator_client):
    today = timezone.localdate()
    DailyAggregate.objects.create(
        day=today, currency="USD", rides_completed=3, revenue_minor=15000,
        payments_registered=2, payments_registered_minor=4000,
    )  # fmt: skip
    DailyAggregate.objects.create(
        day=today - timedelta(days=1), currency="EUR", revenue_minor=2000,
        payments_registered=1, payments_registered_minor=999,
    )  # fmt: skip
    CampaignDailySpend.objects.create(
        day=today, campaign="Unicorn Tuesday", currency="USD", rides=1, discounts_minor=300
    )
    CampaignDailySpend.objects.create(
        day=today, campaign="Licorne Mardi", currency="EUR", rides=1, discounts_minor=700
    )

    page = operator_client.get(URL).content.decode()

    assert "$150.00 in all" in svg(page, "chart-revenue")
    assert "€20.00 in all" in svg(page, "chart-revenue-eur")
    assert "$170.00" not in page and "€170.00" not in page  # never the sum of both
    assert "3 registered" in svg(page, "chart-payments")  # counts add up; money does not
    assert "registered: $40.00 and €9.99" in svg(page, "chart-payments")
    assert "Unicorn Tuesday: $3.00" in svg(page, "chart-campaigns")
    assert "Licorne Mardi: €7.00" in svg(page, "chart-campaigns-eur")
    assert "Licorne Mardi" not in svg(page, "chart-campaigns")
    assert "<dt>Revenue</dt><dd>$150.00 and €20.00</dd>" in page
