"""The frontend subscriber: turns payment and ride events into the rider's notifications
(and the receipt of a completed ride into an e-mail).

`handle_batch` looks the payers (and the rides' unicorns) up once per batch and writes the
notifications with one insert; `handle_event` is the batch of one. Ride events go to
`notifications.rides`.
"""

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from core.money import Money
from events.registry import refuse_unknown_types
from notifications import rides as ride_notifications
from notifications.models import Notification
from rides.selectors import unicorn_name_for_ride

VERBS = {
    "payments.PaymentRegistered": "registered",
    "payments.PaymentVerified": "confirmed",
    "payments.PaymentDeleted": "cancelled",
}


def payment_message(event_type: str, data: dict, *, unicorn: str | None = None) -> str:
    """ "Payment of $12.50 registered for your ride with Shadowfax"."""
    money = Money(data["amount_minor"], data["currency"])
    message = f"Payment of {money} {VERBS[event_type]}"
    return f"{message} for your ride with {unicorn}" if unicorn else message


def handle_batch(envelopes: list[dict]) -> None:
    refuse_unknown_types("notifications", envelopes, [*VERBS, *ride_notifications.RIDE_EVENTS])
    ride_events = [e for e in envelopes if e["type"] in ride_notifications.RIDE_EVENTS]
    if ride_events:
        ride_notifications.handle_ride_events(ride_events)
        envelopes = [e for e in envelopes if e["type"] not in ride_notifications.RIDE_EVENTS]
    payer_ids = {e["data"].get("payer_id") for e in envelopes} - {None}
    if not payer_ids:
        return  # nobody to tell: payments with no rider account
    payers = set(
        get_user_model().objects.filter(pk__in=payer_ids).order_by().values_list("pk", flat=True)
    )
    told = [e for e in envelopes if e["data"].get("payer_id") in payers]
    unicorns = {
        ride_id: unicorn_name_for_ride(ride_id)
        for ride_id in {e["data"].get("ride_id") for e in told} - {None}
    }
    _insert_notifications(
        (
            e["data"]["payer_id"],
            payment_message(e["type"], e["data"], unicorn=unicorns.get(e["data"].get("ride_id"))),
            e["id"],
            e["type"],
        )
        for e in told
    )


def _insert_notifications(rows) -> None:
    """One INSERT of (user id, message, event id, event type) rows: what bulk_create writes,
    without its per-field preparation of each object (most of a batch's cost). On
    PostgreSQL the rows go as four arrays (`unnest`), so the statement and psycopg's parse
    of it stay the same at any batch size."""
    rows = list(rows)
    if not rows:
        return
    event_id = Notification._meta.get_field("event_id")
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    rows = [(u, m, event_id.get_db_prep_value(e, connection), t) for u, m, e, t in rows]
    quote = connection.ops.quote_name
    insert = (
        f"INSERT INTO {quote(Notification._meta.db_table)} "
        "(user_id, message, event_id, event_type, created_at) "
    )
    if connection.vendor == "postgresql":
        sql = "SELECT *, %s FROM unnest(%s::bigint[], %s::text[], %s::uuid[], %s::text[])"
        params = [now, *map(list, zip(*rows, strict=True))]
    else:
        sql = "VALUES " + ", ".join(["(%s, %s, %s, %s, %s)"] * len(rows))
        params = [value for row in rows for value in (*row, now)]
    with connection.cursor() as cursor:
        cursor.execute(insert + sql, params)


def handle_event(envelope: dict) -> None:
    handle_batch([envelope])
