"""The operations dashboard: charts from the BI aggregates, live counts, the fleet map."""

import json
import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bi import charts
from bi.dashboard import chosen_range
from bi.models import CampaignDailySpend, DailyAggregate
from payment_lists.models import PaymentList
from tests.admin import bulk
from tests.factories import RideFactory, UnicornFactory

pytestmark = pytest.mark.django_db

URL = "/admin/bi/dailyaggregate/dashboard/"
TODAY = date(2026, 11, 24)


def svg(page, chart_id: str) -> str:
    match = re.search(rf'<svg class="wr-chart" id="{chart_id}".*?</svg>', page, re.S)
    assert match, chart_id
    return match.group(0)


@pytest.fixture
def days():
    today = timezone.localdate()
    DailyAggregate.objects.create(
        day=today, rides_completed=12, revenue_minor=15000, discounts_minor=1250,
        payments_registered=5, payments_verified=3, payments_deleted=1,
    )  # fmt: skip
    DailyAggregate.objects.create(
        day=today - timedelta(days=3), rides_completed=4, revenue_minor=5000
    )
    DailyAggregate.objects.create(day=today - timedelta(days=30), rides_completed=99)
    CampaignDailySpend.objects.create(
        day=today, campaign="Unicorn Tuesday", rides=3, discounts_minor=900
    )
    CampaignDailySpend.objects.create(
        day=today, campaign="<script>alert(1)</script>", rides=1, discounts_minor=100
    )
    return today


def test_the_dashboard_draws_the_last_14_days_by_default(operator_client, days):
    response = operator_client.get(URL)
    assert response.status_code == 200
    assert (response.context["start"], response.context["end"]) == (
        days - timedelta(days=13),
        days,
    )
    page = response.content.decode()
    rides = svg(page, "chart-rides")
    assert 'role="img"' in rides
    assert '<title id="chart-rides-title">Rides completed per day</title>' in rides
    assert "16 in all" in rides  # 12 + 4; the day 30 days ago is outside the range
    assert rides.count('<rect class="mark s1"') == 2
    assert "$200.00 in all" in svg(page, "chart-revenue")
    assert "5 registered, 3 verified, 1 deleted" in svg(page, "chart-payments")


def test_campaign_names_are_escaped_in_the_chart(operator_client, days):
    page = operator_client.get(URL).content.decode()
    campaigns = svg(page, "chart-campaigns")
    assert "Unicorn Tuesday: $9.00" in campaigns
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in campaigns


def test_a_chosen_range_shows_only_its_days(operator_client, days):
    start = days - timedelta(days=31)
    response = operator_client.get(URL, {"from": start.isoformat(), "to": start.isoformat()})
    assert response.context["period"].endswith("(1 day)")
    assert "0 in all" in svg(response.content.decode(), "chart-rides")
    response = operator_client.get(
        URL, {"from": (days - timedelta(days=30)).isoformat(), "to": days.isoformat()}
    )
    assert "115 in all" in svg(response.content.decode(), "chart-rides")


def test_a_backwards_range_is_refused_and_the_default_shown(operator_client):
    response = operator_client.get(URL, {"from": "2026-11-20", "to": "2026-11-01"})
    assert response.status_code == 400
    assert b"The start date must be on or before the end date." in response.content
    assert (response.context["end"] - response.context["start"]).days == 13


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, (date(2026, 11, 11), TODAY)),
        ({"to": "2026-10-31"}, (date(2026, 10, 18), date(2026, 10, 31))),
        ({"from": "2026-11-01"}, (date(2026, 11, 1), TODAY)),
        ({"from": "2026-12-01"}, (date(2026, 12, 1), date(2026, 12, 1))),
        ({"from": "nonsense"}, (date(2026, 11, 11), TODAY)),
        ({"from": "2020-01-01", "to": "2026-01-01"}, (date(2026, 11, 11), TODAY)),
    ],
)
def test_chosen_range(params, expected):
    start, end, _ = chosen_range(params, today=TODAY)
    assert (start, end) == expected


def test_live_counts_show_what_needs_attention_now(operator_client):
    RideFactory()  # its unicorn is on a ride
    UnicornFactory(on_duty=True)
    UnicornFactory(on_duty=False)
    bulk.dead_letters(2)
    (importing,) = bulk.payment_lists(1)
    PaymentList.objects.filter(pk=importing.pk).update(status=PaymentList.Status.IMPORTING)

    response = operator_client.get(URL)

    cards = {card.key: card.value for card in response.context["cards"]}
    assert cards == {
        "rides_in_progress": 1,
        "unicorns_free": 1,
        "lists_importing": 1,
        "dead_letters": 2,
    }
    live = operator_client.get(URL + "live/").json()
    assert live == cards
    fleet = svg(response.content.decode(), "chart-fleet")
    assert "1 on a ride, 1 free, 1 off duty" in fleet
    assert "50% of the unicorns on duty are on a ride" in fleet


def test_operators_get_links_only_to_lists_they_may_open(operator_client):
    cards = {c.key: c.url for c in operator_client.get(URL).context["cards"]}
    assert cards["rides_in_progress"] == "/admin/rides/ride/?active=yes"
    assert cards["lists_importing"] is None  # payment lists are Finance's


def test_the_map_gets_the_fleet_and_the_rides_in_progress(operator_client, settings):
    ride = RideFactory(unicorn=UnicornFactory(name="Shadowfax", is_available=False))
    UnicornFactory(name="Nimbus", on_duty=False)

    page = operator_client.get(URL).content.decode()

    data = json.loads(re.search(r'id="fleet-map-data"[^>]*>(.*?)</script>', page, re.S).group(1))
    assert {(u["name"], u["state"]) for u in data["unicorns"]} == {
        ("Shadowfax", "on_ride"),
        ("Nimbus", "off_duty"),
    }
    assert data["rides"][0]["id"] == str(ride.pk)
    assert data["rides"][0]["pickup"] == [ride.pickup_latitude, ride.pickup_longitude]
    assert "frontend/vendor/leaflet-1.9.4/leaflet.js" in page  # the rider pages' copy
    assert "cdn" not in page.lower()
    assert json.dumps(settings.MAP_TILES_URL)[1:-1] in page  # the tiles from the setting


def test_the_dashboard_queries_do_not_grow_with_the_data(operator_client):
    operator_client.get(URL)
    with CaptureQueriesContext(connection) as small:
        operator_client.get(URL)
    bulk.rides(300)
    bulk.dead_letters(50)
    with CaptureQueriesContext(connection) as large:
        operator_client.get(URL)
    assert len(large) == len(small)


def test_the_admin_index_links_to_the_dashboard(operator_client):
    assert URL.encode() in operator_client.get("/admin/").content


# --- The SVG charts -------------------------------------------------------------------


def test_column_chart_has_axis_and_value_labels():
    chart = charts.column_chart(
        chart_id="c",
        title="Rides",
        desc="Three days.",
        categories=["1 Nov", "2 Nov", "3 Nov"],
        series=[charts.Series("rides", "s1", [3, 0, 7])],
    )
    assert chart.startswith('<svg class="wr-chart" id="c" role="img"')
    assert '<desc id="c-desc">Three days.</desc>' in chart
    assert chart.count('<rect class="mark s1"') == 2  # nothing drawn for a zero
    assert ">7</text>" in chart and ">3</text>" in chart  # values on the columns
    assert ">1 Nov</text>" in chart and ">8</text>" in chart  # x label, top y tick


def test_an_empty_chart_says_so():
    chart = charts.line_chart(
        chart_id="e", title="Revenue", desc="None.", categories=["1 Nov"], values=[0],
        empty="No revenue in this period.",
    )  # fmt: skip
    assert "No revenue in this period." in chart
    assert "<polyline" not in chart


def test_donut_shares_add_up():
    chart = charts.donut_chart(
        chart_id="d", title="Fleet", desc="Fleet.", centre="50%", centre_note="busy",
        parts=[("On a ride", 1, "a"), ("Free", 1, "b"), ("Off duty", 2, "c")],
    )  # fmt: skip
    assert chart.count('class="slice') == 3
    assert "2 · 50%" in chart and "1 · 25%" in chart


@pytest.mark.parametrize(
    ("top", "step"), [(7, 2), (10, 5), (1, 1), (999, 500), (12_345, 5000), (0, 1)]
)
def test_nice_steps(top, step):
    assert charts.nice_step(top) == step
