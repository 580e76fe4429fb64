"""Reads for the operations dashboard.

The charts come from the BI aggregates (kept by the BI event subscriber); fleet utilisation,
the map and the live counts read the operational tables directly, read-only, in one or two
aggregate queries each, so the dashboard's cost does not grow with the data.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils import timezone

from bi.models import CampaignDailySpend, DailyAggregate
from events.models import Delivery
from payment_lists.models import PaymentList
from rides.models import ACTIVE_STATUSES, Ride, Unicorn

DEFAULT_DAYS = 14
MAP_UNICORN_LIMIT = 1000
MAP_RIDE_LIMIT = 500


def default_range(today: date | None = None) -> tuple[date, date]:
    """The last 14 days, today included."""
    end = today or timezone.localdate(timezone=timezone.get_default_timezone())
    return end - timedelta(days=DEFAULT_DAYS - 1), end


COUNTS = ["rides_completed", "payments_registered", "payments_verified", "payments_deleted"]
MONEY = ["revenue_minor", "discounts_minor", "payments_registered_minor",
         "payments_verified_minor", "payments_deleted_minor"]  # fmt: skip


@dataclass(frozen=True)
class DayFigures:
    """A day: counts over every currency; money per currency, never added across them."""

    day: date
    rides_completed: int = 0
    payments_registered: int = 0
    payments_verified: int = 0
    payments_deleted: int = 0
    money: dict = field(default_factory=dict)  # {currency: {"revenue_minor": ..., ...}}

    def minor(self, currency: str, name: str) -> int:
        return self.money.get(currency, {}).get(name, 0)


def daily_figures(start: date, end: date) -> list[DayFigures]:
    """One entry per day from `start` to `end`, zeros where nothing happened."""
    counts: dict = {}
    money: dict = {}
    rows = (
        DailyAggregate.objects.filter(day__range=(start, end))
        .values("day", "currency")  # a day and currency may have several rows: add them up
        .annotate(**{name: Sum(name) for name in COUNTS + MONEY})
        .order_by()
    )
    for row in rows:
        day_counts = counts.setdefault(row["day"], dict.fromkeys(COUNTS, 0))
        for name in COUNTS:
            day_counts[name] += row[name]
        money.setdefault(row["day"], {})[row["currency"]] = {name: row[name] for name in MONEY}
    days = (start + timedelta(days=n) for n in range((end - start).days + 1))
    return [DayFigures(day=day, **counts.get(day, {}), money=money.get(day, {})) for day in days]


def currencies(figures: list[DayFigures], *more: str) -> list[str]:
    """The currencies with money in these days (and `more`), the fare currency first."""
    found = {currency for day in figures for currency in day.money} | set(more)
    return sorted(found, key=lambda code: (code != settings.FARE_CURRENCY, code))


def totals(figures: list[DayFigures]) -> dict:
    """Counts over the days; `money`: {currency: {name: minor units}}, each currency apart."""
    found = {name: sum(getattr(day, name) for day in figures) for name in COUNTS}
    found["money"] = {
        currency: {name: sum(day.minor(currency, name) for day in figures) for name in MONEY}
        for currency in currencies(figures)
    }
    return found


def campaign_spend(start: date, end: date) -> list[dict]:
    """Discount money per campaign and currency over the range, biggest spender first
    within each currency."""
    return list(
        CampaignDailySpend.objects.filter(day__range=(start, end))
        .values("campaign", "currency")
        .annotate(rides=Sum("rides"), discounts_minor=Sum("discounts_minor"))
        .order_by("currency", "-discounts_minor", "campaign")
    )


@dataclass(frozen=True)
class Fleet:
    on_ride: int
    free: int
    off_duty: int

    @property
    def total(self) -> int:
        return self.on_ride + self.free + self.off_duty

    @property
    def on_duty(self) -> int:
        return self.on_ride + self.free

    @property
    def utilisation(self) -> float | None:
        """Share of the working fleet on a ride now (None when nobody is working)."""
        working = self.on_ride + self.free
        return self.on_ride / working if working else None


def fleet() -> Fleet:
    """The fleet now: on a ride, free (on duty and available), off duty. One query."""
    counts = Unicorn.objects.aggregate(
        on_ride=Count("pk", filter=Q(is_available=False)),
        free=Count("pk", filter=Q(is_available=True, on_duty=True)),
        off_duty=Count("pk", filter=Q(is_available=True, on_duty=False)),
    )
    return Fleet(**counts)


def live_counts(fleet_now: Fleet | None = None) -> dict:
    """What needs attention now."""
    fleet_now = fleet_now or fleet()
    finished = [PaymentList.Status.IMPORTED, PaymentList.Status.FAILED]
    return {
        # Every active ride: on the way, waiting at the pickup, or on board.
        "rides_in_progress": Ride.objects.filter(status__in=ACTIVE_STATUSES).count(),
        "unicorns_free": fleet_now.free,
        "lists_importing": PaymentList.objects.exclude(status__in=finished).count(),
        "dead_letters": Delivery.objects.filter(status=Delivery.Status.DEAD).count(),
    }


def fleet_map(unicorn_limit: int = MAP_UNICORN_LIMIT, ride_limit: int = MAP_RIDE_LIMIT) -> dict:
    """Points for the fleet map: unicorns (busy ones first) and the active rides."""
    unicorns = [
        {
            "name": u["name"],
            "color": u["color"],
            "lat": u["latitude"],
            "lng": u["longitude"],
            "state": "on_ride" if not u["is_available"] else "free" if u["on_duty"] else "off_duty",
        }
        for u in Unicorn.objects.order_by("is_available", "-on_duty", "name").values(
            "name", "color", "latitude", "longitude", "on_duty", "is_available"
        )[:unicorn_limit]
    ]
    rides = [
        {
            "id": str(r["id"]),
            "unicorn": r["unicorn__name"],
            "from": [r["unicorn_start_latitude"], r["unicorn_start_longitude"]],
            "pickup": [r["pickup_latitude"], r["pickup_longitude"]],
            "dropoff": (
                [r["dropoff_latitude"], r["dropoff_longitude"]]
                if r["dropoff_latitude"] is not None
                else None
            ),
            "requested_at": r["requested_at"].isoformat(),
        }
        for r in Ride.objects.filter(status__in=ACTIVE_STATUSES)
        .order_by("-requested_at")
        .values(
            "id",
            "unicorn__name",
            "unicorn_start_latitude",
            "unicorn_start_longitude",
            "pickup_latitude",
            "pickup_longitude",
            "dropoff_latitude",
            "dropoff_longitude",
            "requested_at",
        )[:ride_limit]
    ]
    return {"unicorns": unicorns, "rides": rides}
