"""The BI subscriber: folds events into daily aggregates. Runs once per event id."""

from datetime import datetime

from django.db.models import F
from django.utils import timezone

from bi.models import CampaignDailySpend, DailyAggregate


def _day(envelope: dict):
    return timezone.localdate(datetime.fromisoformat(envelope["occurred_at"]))


def _add(day, **increments) -> None:
    DailyAggregate.objects.get_or_create(day=day)
    DailyAggregate.objects.filter(day=day).update(
        **{field: F(field) + value for field, value in increments.items()}
    )


def _ride_completed(day, data: dict) -> None:
    discount = data["base_fare_minor"] - data["fare_minor"]
    _add(day, rides_completed=1, revenue_minor=data["fare_minor"], discounts_minor=discount)
    if discount and data.get("campaign"):
        CampaignDailySpend.objects.get_or_create(day=day, campaign=data["campaign"])
        CampaignDailySpend.objects.filter(day=day, campaign=data["campaign"]).update(
            rides=F("rides") + 1, discounts_minor=F("discounts_minor") + discount
        )


def _payment(status: str):
    def fold(day, data: dict) -> None:
        _add(day, **{f"payments_{status}": 1, f"payments_{status}_minor": data["amount_minor"]})

    return fold


HANDLERS = {
    "rides.RideCompleted": _ride_completed,
    "payments.PaymentRegistered": _payment("registered"),
    "payments.PaymentVerified": _payment("verified"),
    "payments.PaymentDeleted": _payment("deleted"),
}


def handle_event(envelope: dict) -> None:
    HANDLERS[envelope["type"]](_day(envelope), envelope["data"])
