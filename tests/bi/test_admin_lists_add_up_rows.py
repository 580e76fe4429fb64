"""The admin lists of BI figures show one line per day and currency (and campaign), with
the rows that concurrent writers spread it over added up."""

import pytest
from django.utils import timezone

from bi.models import CampaignDailySpend, DailyAggregate

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


def test_a_day_spread_over_rows_is_one_line_with_its_totals(operator_client):
    today = timezone.localdate()
    for rides, revenue in [(3, 4_100), (2, 2_000)]:
        DailyAggregate.objects.create(
            day=today, currency="USD", rides_completed=rides, revenue_minor=revenue
        )
    DailyAggregate.objects.create(day=today, currency="EUR", payments_registered=4)

    response = operator_client.get("/admin/bi/dailyaggregate/")

    assert response.status_code == 200
    lines = list(response.context["cl"].result_list)
    assert sorted((line.currency, line.total_rides_completed) for line in lines) == [
        ("EUR", 0),
        ("USD", 5),
    ]
    assert "$61.00" in response.content.decode()  # 41.00 + 20.00


def test_a_campaigns_day_spread_over_rows_is_one_line_with_its_totals(operator_client):
    today = timezone.localdate()
    for rides, minor in [(1, 250), (4, 1_000)]:
        CampaignDailySpend.objects.create(
            day=today, campaign="Unicorn Tuesday", currency="USD", rides=rides,
            discounts_minor=minor,
        )  # fmt: skip

    response = operator_client.get("/admin/bi/campaigndailyspend/")

    [line] = response.context["cl"].result_list
    assert (line.total_rides, line.total_discounts_minor) == (5, 1_250)
    assert "$12.50" in response.content.decode()
