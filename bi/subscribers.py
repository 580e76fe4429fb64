"""The BI subscriber: folds events into daily aggregates. Runs once per event id.

`handle_batch` folds a whole batch first and then touches a row of each day (and of each
campaign's day) once with the summed increments; `handle_event` is the batch of one. Money
is folded per currency (rows per day and currency): amounts in different currencies are
never added together.

No hot row: every completion and payment adds to its day, so a single row per day would
make them all wait for each other (2,547 of 2,549 lock waits under 48 riders on
PostgreSQL). A writer adds to a row of its day that no other transaction holds (`FOR
UPDATE SKIP LOCKED`), or inserts one; the reads add a day's rows up. A day has as many
rows as it had writers at the same moment. On SQLite, whose writers take turns anyway,
a day keeps one row.
"""

import uuid
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

from django.db.models import F, Subquery
from django.utils import timezone

from bi.models import CampaignDailySpend, DailyAggregate, fare_currency
from events.registry import refuse_unknown_types
from payments.models import Payment

# The day of a figure is the service area's day of the change it counts, as the change's
# own row has it: the day finance reconciles the figure with (the payments of a day in the
# payments admin). An event is written a moment after its change, by another statement;
# for a payment list, after the whole list's INSERT, in the same transaction (and so
# within a Lambda's run of at most 15 minutes): an hour is more than any such gap.
PAYMENT_MOMENTS = {
    "payments.PaymentRegistered": "registered_at",
    "payments.PaymentVerified": "verified_at",
    "payments.PaymentDeleted": "deleted_at",
}
CHANGE_BEFORE_ITS_EVENT_AT_MOST = timedelta(hours=1)


def local_day(moment: datetime) -> date:
    """The service area's day (TIME_ZONE) of `moment`, whether the event is delivered inside
    an API request (whose answers are in UTC, core.middleware) or by the relay."""
    return timezone.localdate(moment, timezone.get_default_timezone())


def _days(envelopes: list[dict]) -> list[date]:
    """The day of each event: that of the change it reports.

    A ride's completion carries its completed_at. A payment's change is looked up on the
    payment (one query a batch) when its event came early in a day, so soon after midnight
    that the change may still have been the day before: a payment registered at 23:59:59.999
    whose event was written at 00:00:00.001 counts for the evening it was registered. Other
    events (and a payment not found): the event's own day."""
    moments, to_look_up = [], {}
    for n, envelope in enumerate(envelopes):
        data = envelope["data"]
        moment = datetime.fromisoformat(envelope["occurred_at"])
        if envelope["type"] == "rides.RideCompleted" and data.get("completed_at"):
            moment = datetime.fromisoformat(data["completed_at"])
        elif (
            envelope["type"] in PAYMENT_MOMENTS
            and local_day(moment - CHANGE_BEFORE_ITS_EVENT_AT_MOST) != local_day(moment)
            and (payment_id := _uuid(data.get("payment_id")))
        ):
            to_look_up[n] = (PAYMENT_MOMENTS[envelope["type"]], payment_id)
        moments.append(moment)
    if to_look_up:
        ids = {payment_id for _, payment_id in to_look_up.values()}
        rows = Payment.objects.filter(pk__in=ids).values("pk", *PAYMENT_MOMENTS.values())
        found = {row["pk"]: row for row in rows}
        for n, (field, payment_id) in to_look_up.items():
            if (row := found.get(payment_id)) and row[field] is not None:
                moments[n] = row[field]
    return [local_day(moment) for moment in moments]


def _uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _ride_completed(data: dict) -> tuple[dict, dict | None]:
    discount = data["base_fare_minor"] - data["fare_minor"]
    daily = {"rides_completed": 1, "revenue_minor": data["fare_minor"], "discounts_minor": discount}
    if discount and data.get("campaign"):
        return daily, {"rides": 1, "discounts_minor": discount}
    return daily, None


def _payment(status: str):
    def fold(data: dict) -> tuple[dict, None]:
        return {f"payments_{status}": 1, f"payments_{status}_minor": data["amount_minor"]}, None

    return fold


FOLDS = {
    "rides.RideCompleted": _ride_completed,
    "payments.PaymentRegistered": _payment("registered"),
    "payments.PaymentVerified": _payment("verified"),
    "payments.PaymentDeleted": _payment("deleted"),
}


def _increment(model, increments: Counter, **key) -> None:
    """Add `increments` to a row of `key` that no other transaction holds, or to a new one.
    Never waits for another writer's row lock."""
    changes = {field: F(field) + value for field, value in increments.items()}
    free_row = model.objects.select_for_update(skip_locked=True).filter(**key).values("pk")[:1]
    if not model.objects.filter(pk=Subquery(free_row)).update(**changes):
        model.objects.create(**key, **increments)


def handle_batch(envelopes: list[dict]) -> None:
    refuse_unknown_types("bi", envelopes, FOLDS)
    days: dict = defaultdict(Counter)
    campaigns: dict = defaultdict(Counter)
    for envelope, day in zip(envelopes, _days(envelopes), strict=True):
        data = envelope["data"]
        currency = data.get("currency") or fare_currency()
        daily, campaign = FOLDS[envelope["type"]](data)
        days[day, currency].update(daily)
        if campaign:
            campaigns[day, data["campaign"], currency].update(campaign)
    for (day, currency), increments in days.items():
        _increment(DailyAggregate, increments, day=day, currency=currency)
    for (day, campaign, currency), increments in campaigns.items():
        _increment(CampaignDailySpend, increments, day=day, campaign=campaign, currency=currency)


def handle_event(envelope: dict) -> None:
    handle_batch([envelope])
