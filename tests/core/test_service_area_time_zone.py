"""Times people read are in the service area's zone (TIME_ZONE, Seattle by default), and
"a day" is the service area's day; what is stored, the API's answers and the database
connection stay in UTC."""

import uuid
from datetime import UTC, date, datetime

import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone

from bi import subscribers
from bi.models import DailyAggregate
from promos import selectors
from promos.models import DiscountAward
from rides.models import Ride
from tests.factories import CampaignFactory, RideFactory

pytestmark = pytest.mark.django_db

SEATTLE = "America/Los_Angeles"


def test_the_receipt_page_shows_the_ride_at_seattles_time(client, rider):
    ride = RideFactory(rider=rider, status=Ride.Status.COMPLETED)
    Ride.objects.filter(pk=ride.pk).update(requested_at=datetime(2026, 12, 7, 10, 54, tzinfo=UTC))
    client.force_login(rider)

    page = client.get(f"/history/{ride.id}/").content.decode()

    assert "7 December 2026, 02:54" in page  # 10:54 UTC is 02:54 in Seattle (PST)
    assert "10:54" not in page


def test_the_api_still_answers_its_times_in_utc(client, rider):
    ride = RideFactory(rider=rider, status=Ride.Status.COMPLETED)
    Ride.objects.filter(pk=ride.pk).update(requested_at=datetime(2026, 12, 7, 10, 54, tzinfo=UTC))
    client.force_login(rider)

    answer = client.get(f"/api/rides/{ride.id}/").json()

    assert answer["requested_at"] == "2026-12-07T10:54:00Z"


def test_the_database_connection_stays_in_utc_whatever_the_time_zone():
    """With USE_TZ Django keeps the connection in UTC (BaseDatabaseWrapper.timezone_name)
    unless DATABASES sets a TIME_ZONE; the PostgreSQL server runs in UTC too, so Django
    never sends `SET TIME ZONE`, which a pooler would not keep and RDS Proxy would pin."""
    assert settings.TIME_ZONE != "UTC"
    assert connection.timezone_name == "UTC"
    if connection.vendor == "postgresql":  # a new connection, as a pooler's client opens
        fresh = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            fresh.ensure_connection()
            assert fresh.connection.info.parameter_status("TimeZone") == "UTC"
        finally:
            fresh.close()


def ride_completed_at(moment: datetime) -> dict:
    data = {"fare_minor": 1000, "base_fare_minor": 1000, "currency": "USD", "campaign": ""}
    return {"id": str(uuid.uuid4()), "type": "rides.RideCompleted",
            "occurred_at": moment.isoformat(), "data": data}  # fmt: skip


def test_a_ride_completed_late_on_a_seattle_evening_counts_for_that_seattle_day(settings):
    settings.TIME_ZONE = SEATTLE  # BI's days are the service area's days, not UTC's
    with transaction.atomic():
        subscribers.handle_batch([
            ride_completed_at(datetime(2026, 12, 7, 7, 30, tzinfo=UTC)),  # 23:30 on the 6th
            ride_completed_at(datetime(2026, 12, 7, 8, 30, tzinfo=UTC)),  # 00:30 on the 7th
        ])  # fmt: skip

    days = dict(DailyAggregate.objects.values_list("day", "rides_completed"))
    assert days == {date(2026, 12, 6): 1, date(2026, 12, 7): 1}


# A request's current zone: none (the default, TIME_ZONE) or the API's UTC (core.middleware).
@pytest.mark.parametrize("current_zone", [None, UTC], ids=["page or relay", "API request"])
def test_a_riders_daily_cap_starts_again_at_midnight_in_seattle(settings, current_zone):
    settings.TIME_ZONE = SEATTLE  # the same UTC day, two Seattle days
    campaign = CampaignFactory(daily_cap_per_rider=1, tiers=[("0.50", 1)])
    award = DiscountAward.objects.create(
        username="rider@example.com", latitude=47.6, longitude=-122.3, campaign=campaign,
        multiplier="0.50", outcome=DiscountAward.Outcome.DRAWN,
    )  # fmt: skip
    DiscountAward.objects.filter(pk=award.pk).update(
        created_at=datetime(2026, 12, 7, 7, 30, tzinfo=UTC)  # 23:30 on the 6th in Seattle
    )

    def won_at(moment):
        with timezone.override(current_zone):
            return selectors.discounts_won_today(
                campaign=campaign, username="rider@example.com", at=moment
            )

    assert won_at(datetime(2026, 12, 7, 7, 45, tzinfo=UTC)) == 1  # 23:45, the same evening
    assert won_at(datetime(2026, 12, 7, 8, 30, tzinfo=UTC)) == 0  # 00:30, the next day


def test_an_event_delivered_inside_an_api_request_counts_for_the_same_seattle_day(settings):
    """Events are delivered inline, inside the API request whose answers are in UTC
    (core.middleware): the day is still Seattle's, as when the relay delivers them."""
    settings.TIME_ZONE = SEATTLE
    with timezone.override(UTC), transaction.atomic():
        subscribers.handle_batch([ride_completed_at(datetime(2026, 12, 7, 7, 30, tzinfo=UTC))])

    assert list(DailyAggregate.objects.values_list("day", flat=True)) == [date(2026, 12, 6)]
