"""The payment events and their payloads (the contract BI and notifications read)."""

from events.outbox import emit
from payments.models import Payment

PAYMENT_REGISTERED = "payments.PaymentRegistered"
PAYMENT_VERIFIED = "payments.PaymentVerified"
PAYMENT_DELETED = "payments.PaymentDeleted"


def payment_data(payment: Payment) -> dict:
    return {
        "payment_id": str(payment.id),
        "reference": payment.reference,
        "amount_minor": payment.amount_minor,
        "currency": payment.currency,
        "status": payment.status,
        "ride_id": str(payment.ride_id) if payment.ride_id else None,
        "payer_id": payment.payer_id,
        "payer_email": payment.payer_email,
        "organization_id": payment.organization_id,
    }


# The moment of each change, as the payment's row has it (what BI dates the change by).
MOMENTS = {
    PAYMENT_REGISTERED: "registered_at",
    PAYMENT_VERIFIED: "verified_at",
    PAYMENT_DELETED: "deleted_at",
}


def emit_payment_event(event_type: str, payment: Payment) -> None:
    emit(event_type, payment_data(payment), occurred_at=getattr(payment, MOMENTS[event_type]))
