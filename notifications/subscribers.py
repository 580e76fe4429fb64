"""The frontend subscriber: turns payment and ride events into the rider's notifications
(and the receipt of a completed ride into an e-mail).

`handle_batch` looks the payers and the rides' unicorns up once per batch (one query each)
and writes the notifications, each with its ride if it has one, with one `bulk_create`;
`handle_event` is the batch of one. Ride events go to `notifications.rides`.
"""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.utils import dateformat, timezone

from core.money import Money
from events.registry import refuse_unknown_types
from notifications import rides as ride_notifications
from notifications.models import Notification
from rides.selectors import unicorn_names_for_rides

VERBS = {
    "payments.PaymentRegistered": "registered",
    "payments.PaymentVerified": "confirmed",
    "payments.PaymentDeleted": "cancelled",
}


def payment_message(event_type: str, data: dict, *, unicorn: str | None = None) -> str:
    """ "Payment of $12.50 registered for your ride with Shadowfax"; a fee an operator
    waived says so (waived_message)."""
    money = Money(data["amount_minor"], data["currency"])
    if event_type == "payments.PaymentDeleted" and data.get("deletion_reason") == "fee_waived":
        return waived_message(money, data, unicorn=unicorn)
    message = f"Payment of {money} {VERBS[event_type]}"
    return f"{message} for your ride with {unicorn}" if unicorn else message


def waived_message(money: Money, data: dict, *, unicorn: str | None) -> str:
    """ "Your $5.00 fee for the ride with Rocinante on 7 December was waived. You owe
    nothing for it." The day is the fee's (when it was charged: the ride's cancellation or
    no-show), in the service area's time; not the day it was waived."""
    ride = f"the ride with {unicorn}" if unicorn else "your ride"
    if data.get("registered_at"):
        charged = timezone.localtime(
            datetime.fromisoformat(data["registered_at"]), timezone.get_default_timezone()
        )
        ride += f" on {dateformat.format(charged, 'j F')}"
    return f"Your {money} fee for {ride} was waived. You owe nothing for it."


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
    ride_ids = {e["data"].get("ride_id") for e in told} - {None}
    unicorns = unicorn_names_for_rides(ride_ids) if ride_ids else {}
    Notification.objects.bulk_create(
        Notification(
            user_id=e["data"]["payer_id"],
            message=payment_message(
                e["type"], e["data"], unicorn=unicorns.get(e["data"].get("ride_id"))
            ),
            event_id=e["id"],
            event_type=e["type"],
            # Its event's time: the rider reads what happened in the order it happened,
            # though SQS may hand a payment's deletion over before its registration.
            created_at=datetime.fromisoformat(e["occurred_at"]),
            # The ride it is about (the rider's "See the ride"), if it still exists.
            ride_id=e["data"].get("ride_id") if e["data"].get("ride_id") in unicorns else None,
        )
        for e in told
    )


def handle_event(envelope: dict) -> None:
    handle_batch([envelope])
