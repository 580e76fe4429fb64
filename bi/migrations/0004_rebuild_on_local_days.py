"""BI's figures re-derived from the rides and the payments themselves, each change counted
on the service area's day (TIME_ZONE) of its own time.

Rows written before BI used the service area's days have their changes on the wrong day:
until 62b3451 TIME_ZONE was UTC, so every row was a UTC day (a Seattle evening's rides and
payments, from 16:00 or 17:00 on, were the next day's); until eb40ff8 an event delivered
inside an API request still took UTC's day; until 3956d4a a payment or a ride was counted
on the day of its event, written a moment after it (23:59:59.999 became the next day).
0002 had copied the rides' figures from the first rows as they were. Finance and the
operators read those days (the dashboard, the BI lists and their CSV) against the
payments of a day: they did not match.

So every row is rebuilt, as the subscriber now counts:
- rides: the completed rides per day of completed_at and currency (count, fares,
  discounts = fare before discount less fare paid; per campaign where a discount was given);
- payments: per day of registered_at, verified_at and deleted_at, per currency;
- less the changes whose events BI has not counted yet (on their way, or dead letters not
  replayed): BI adds those when they come, so each change is counted once.

Nobody changes what is read while this runs: on PostgreSQL the outbox is held against new
changes (each change writes its event there in its own transaction) and the BI tables
against BI's writers, in the order deliveries take them, until the commit; SQLite has one
writer. Running it again gives the same rows (idempotent).
"""

import uuid
from collections import Counter, defaultdict
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import migrations
from django.db.models import Count, Exists, F, OuterRef, Sum
from django.db.models.functions import TruncDate

SUBSCRIBER = "bi"
RIDE_COMPLETED = "rides.RideCompleted"
PAYMENT_MOMENTS = {
    "payments.PaymentRegistered": ("registered", "registered_at"),
    "payments.PaymentVerified": ("verified", "verified_at"),
    "payments.PaymentDeleted": ("deleted", "deleted_at"),
}
CHUNK = 1000


def _hold_writers(connection, *tables) -> None:
    if connection.vendor != "postgresql":
        return  # SQLite: this transaction is the only writer (BEGIN IMMEDIATE)
    outbox, *bi_tables = (connection.ops.quote_name(table) for table in tables)
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {outbox} IN SHARE MODE")
        cursor.execute(f"LOCK TABLE {', '.join(bi_tables)} IN EXCLUSIVE MODE")


def _rides(Ride, zone, days, spend) -> None:
    completed = Ride.objects.filter(status="completed", completed_at__isnull=False).annotate(
        day=TruncDate("completed_at", tzinfo=zone)
    )
    per_day = (
        completed.values("day", "fare_currency")
        .annotate(rides=Count("pk"), fares=Sum("fare_minor"), bases=Sum("base_fare_minor"))
        .order_by()
    )
    for row in per_day:
        days[row["day"], row["fare_currency"]].update(
            rides_completed=row["rides"],
            revenue_minor=row["fares"],
            discounts_minor=row["bases"] - row["fares"],
        )
    per_campaign = (
        completed.exclude(discount_campaign="")
        .exclude(base_fare_minor=F("fare_minor"))
        .values("day", "discount_campaign", "fare_currency")
        .annotate(rides=Count("pk"), fares=Sum("fare_minor"), bases=Sum("base_fare_minor"))
        .order_by()
    )
    for row in per_campaign:
        key = (row["day"], row["discount_campaign"], row["fare_currency"])
        spend[key].update(rides=row["rides"], discounts_minor=row["bases"] - row["fares"])


def _payments(Payment, zone, days) -> None:
    for status, moment in PAYMENT_MOMENTS.values():
        per_day = (
            Payment.objects.filter(**{f"{moment}__isnull": False})
            .annotate(day=TruncDate(moment, tzinfo=zone))
            .values("day", "currency")
            .annotate(count=Count("pk"), minor=Sum("amount_minor"))
            .order_by()
        )
        for row in per_day:
            days[row["day"], row["currency"]].update(
                {f"payments_{status}": row["count"], f"payments_{status}_minor": row["minor"]}
            )


def _not_counted_yet(OutboxEvent, ProcessedEvent, Payment, zone, days, spend) -> None:
    """Take away the changes whose events BI has not processed: it adds them when they
    come (as the subscriber folds them, on the day of the change)."""
    counted = ProcessedEvent.objects.filter(subscriber=SUBSCRIBER, event_id=OuterRef("pk"))
    pending = (
        OutboxEvent.objects.filter(type__in=[RIDE_COMPLETED, *PAYMENT_MOMENTS])
        .exclude(Exists(counted))
        .order_by("pk")
    )
    after = None
    while True:  # a chunk at a time (a payment list's events may all be on their way)
        page = pending if after is None else pending.filter(pk__gt=after)
        chunk = list(page.values_list("pk", "type", "occurred_at", "data")[:CHUNK])
        if not chunk:
            return
        after = chunk[-1][0]
        ids = {
            _uuid(data.get("payment_id")) for _, kind, _, data in chunk if kind in PAYMENT_MOMENTS
        }
        moments = {
            row["pk"]: row
            for row in Payment.objects.filter(pk__in=ids - {None}).values(
                "pk", "registered_at", "verified_at", "deleted_at"
            )
        }
        for _, kind, occurred_at, data in chunk:
            currency = data.get("currency") or settings.FARE_CURRENCY
            if kind == RIDE_COMPLETED:
                moment = _moment(data.get("completed_at")) or occurred_at
                day = moment.astimezone(zone).date()
                discount = data["base_fare_minor"] - data["fare_minor"]
                days[day, currency].subtract(
                    rides_completed=1, revenue_minor=data["fare_minor"], discounts_minor=discount
                )
                if discount and data.get("campaign"):
                    spend[day, data["campaign"], currency].subtract(
                        rides=1, discounts_minor=discount
                    )
                continue
            status, field = PAYMENT_MOMENTS[kind]
            row = moments.get(_uuid(data.get("payment_id"))) or {}
            day = (row.get(field) or occurred_at).astimezone(zone).date()
            days[day, currency].subtract(
                {f"payments_{status}": 1, f"payments_{status}_minor": data["amount_minor"]}
            )


def _uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _moment(text) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def rebuild_on_local_days(apps, schema_editor):
    Daily = apps.get_model("bi", "DailyAggregate")
    Spend = apps.get_model("bi", "CampaignDailySpend")
    Ride = apps.get_model("rides", "Ride")
    Payment = apps.get_model("payments", "Payment")
    OutboxEvent = apps.get_model("events", "OutboxEvent")
    ProcessedEvent = apps.get_model("events", "ProcessedEvent")
    _hold_writers(
        schema_editor.connection,
        OutboxEvent._meta.db_table,
        Daily._meta.db_table,
        Spend._meta.db_table,
    )
    zone = ZoneInfo(settings.TIME_ZONE)
    days: dict[tuple[date, str], Counter] = defaultdict(Counter)
    spend: dict[tuple[date, str, str], Counter] = defaultdict(Counter)
    _rides(Ride, zone, days, spend)
    _payments(Payment, zone, days)
    _not_counted_yet(OutboxEvent, ProcessedEvent, Payment, zone, days, spend)
    Daily.objects.all().delete()
    Spend.objects.all().delete()
    Daily.objects.bulk_create(
        (
            Daily(day=day, currency=currency, **figures)
            for (day, currency), figures in sorted(days.items())
            if any(figures.values())
        ),
        batch_size=CHUNK,
    )
    Spend.objects.bulk_create(
        (
            Spend(day=day, campaign=campaign, currency=currency, **figures)
            for (day, campaign, currency), figures in sorted(spend.items())
            if any(figures.values())
        ),
        batch_size=CHUNK,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("bi", "0003_aggregates_without_hot_row"),
        ("events", "0003_outbox_type_not_indexed"),
        ("payments", "0005_organization_moved_out"),
        ("rides", "0006_names_on_one_line"),
    ]

    operations = [
        migrations.RunPython(rebuild_on_local_days, migrations.RunPython.noop),
    ]
