"""The frontend subscriber: turns payment events into the rider's notifications."""

from accounts.selectors import user_by_id
from core.money import Money
from notifications.models import Notification
from rides.selectors import unicorn_name_for_ride

VERBS = {
    "payments.PaymentRegistered": "registered",
    "payments.PaymentVerified": "confirmed",
    "payments.PaymentDeleted": "cancelled",
}


def payment_message(event_type: str, data: dict) -> str:
    """ "Payment of $12.50 registered for your ride with Shadowfax"."""
    money = Money(data["amount_minor"], data["currency"])
    message = f"Payment of {money} {VERBS[event_type]}"
    unicorn = unicorn_name_for_ride(data["ride_id"]) if data.get("ride_id") else None
    return f"{message} for your ride with {unicorn}" if unicorn else message


def handle_event(envelope: dict) -> None:
    data = envelope["data"]
    user = user_by_id(data.get("payer_id"))
    if user is None:
        return  # nobody to tell: a payment with no rider account
    Notification.objects.create(
        user=user,
        message=payment_message(envelope["type"], data),
        event_id=envelope["id"],
        event_type=envelope["type"],
    )
