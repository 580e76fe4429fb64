"""For tests of days: a clock at Seattle's wall-clock moments, rides through the ride
service, and a day's figures as the payments table and as BI have them."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.db.models.signals import post_save
from django.utils import timezone

from bi import selectors
from payments.models import Payment
from rides import services as rides
from rides.models import Ride
from tests.factories import UnicornFactory

SEATTLE = ZoneInfo("America/Los_Angeles")


class Clock:
    """django.utils.timezone.now, as the code reads it, at a chosen moment, which moves on a
    millisecond after each row written: time passes between two statements, so the event
    that reports a change is written a little after the change."""

    def __init__(self, monkeypatch):
        self.moment = datetime(2026, 1, 1, tzinfo=UTC)
        monkeypatch.setattr(timezone, "now", lambda: self.moment)
        post_save.connect(self.tick, weak=False, dispatch_uid="test-clock")

    def tick(self, **kwargs):
        self.moment += timedelta(milliseconds=1)

    def set(self, local: datetime):
        """Seattle's wall clock (fold=1: the second 01:30 of the day the clocks go back)."""
        self.moment = local.replace(tzinfo=SEATTLE).astimezone(UTC)

    def stop(self):
        post_save.disconnect(dispatch_uid="test-clock")


@pytest.fixture
def clock(monkeypatch, settings):
    """django.utils.timezone.now at chosen Seattle moments (TIME_ZONE Seattle's)."""
    settings.TIME_ZONE = "America/Los_Angeles"
    clock = Clock(monkeypatch)
    yield clock
    clock.stop()


def local_day(moment: datetime) -> date:
    return moment.astimezone(SEATTLE).date()


def payments_per_day(moment: str) -> dict:
    """What finance reads from the payments table: per local day and currency, how many
    payments changed and their amount (the database's own day of each time)."""
    rows = (
        Payment.objects.filter(**{f"{moment}__isnull": False})
        .annotate(day=TruncDate(moment, tzinfo=SEATTLE))
        .values("day", "currency")
        .annotate(count=Count("pk"), minor=Sum("amount_minor"))
        .order_by()
    )
    return {(r["day"], r["currency"]): (r["count"], r["minor"]) for r in rows}


def bi_per_day(start: date, end: date, status: str) -> dict:
    """The same figures as BI has them (bi.selectors, what the dashboard and admin read)."""
    found = {}
    for day in selectors.daily_figures(start, end):
        for currency in day.money:
            minor = day.minor(currency, f"payments_{status}_minor")
            if minor:
                found[day.day, currency] = minor
    return found


def counts_per_day(start: date, end: date, name: str) -> dict:
    return {
        d.day: getattr(d, name) for d in selectors.daily_figures(start, end) if getattr(d, name)
    }


def ride_for(rider, clock, *, requested: datetime, completed: datetime, dropoff=True) -> Ride:
    """A ride through the ride service: requested, the unicorn arrives, the rider boards,
    the ride completes at `completed` (Seattle's wall clock)."""
    UnicornFactory()
    clock.set(requested)
    pickup = rides.Point(47.6062, -122.3321)
    ride = rides.request_ride(
        rider=rider, pickup=pickup, dropoff=rides.Point(47.62, -122.35) if dropoff else None
    )
    clock.moment = ride.arrives_at + timedelta(seconds=1)
    ride = rides.board_ride(ride=ride, by=rider)
    clock.set(completed)
    return rides.complete_ride(ride=ride, by=rider)
