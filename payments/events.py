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


def deletion_data(payment: Payment) -> dict:
    """What PaymentDeleted adds to payment_data: why (`deletion_reason`: "fee_waived" when
    an operator forgave a ride's fee, None for a plain deletion) and when the payment was
    registered (the day of the charge it takes back). Added fields: a subscriber reads an
    event written before them, which has neither, as a plain deletion."""
    return {
        "deletion_reason": payment.deletion_reason or None,
        "registered_at": payment.registered_at.isoformat(),
    }


def emit_payment_event(event_type: str, payment: Payment) -> None:
    data = payment_data(payment)
    if event_type == PAYMENT_DELETED:
        data |= deletion_data(payment)
    emit(event_type, data, occurred_at=getattr(payment, MOMENTS[event_type]))
