"""Register, verify and delete payments. Each change emits its event in the same transaction."""

from django.db import transaction
from django.utils import timezone

from core.exceptions import Conflict
from core.observability import count_metric
from payments import events
from payments.models import Payment


def actor_label(actor) -> str:
    """Who did it, as the audit trail shows it: an e-mail or `service:<name>`."""
    return getattr(actor, "email", None) or str(actor)


def _check_reference_is_free(reference: str) -> None:
    if Payment.objects.filter(reference=reference).exists():
        raise Conflict(f"A payment with reference {reference!r} already exists.")


@transaction.atomic
def register_payment(
    *,
    amount_minor: int,
    currency: str,
    reference: str,
    actor,
    ride=None,
    payer=None,
    payer_email: str = "",
    organization=None,
) -> Payment:
    _check_reference_is_free(reference)
    payment = Payment.objects.create(
        amount_minor=amount_minor,
        currency=currency,
        reference=reference,
        ride=ride,
        payer=payer,
        payer_email=payer_email or (payer.email if payer else ""),
        organization=organization,
        registered_by=actor_label(actor),
    )
    events.emit_payment_event(events.PAYMENT_REGISTERED, payment)
    count_metric("PaymentsRegistered")
    return payment


def fare_reference(ride) -> str:
    return f"ride-{ride.id}"


@transaction.atomic
def register_fare_payment(*, ride, actor) -> Payment:
    """The fare of a completed ride, registered exactly once (its reference is the ride)."""
    existing = Payment.objects.filter(reference=fare_reference(ride)).first()
    if existing is not None:
        return existing
    return register_payment(
        amount_minor=ride.fare_minor,
        currency=ride.fare_currency,
        reference=fare_reference(ride),
        ride=ride,
        payer=ride.rider,
        actor=actor,
    )


def _locked(payment: Payment) -> Payment:
    return Payment.objects.select_for_update().get(pk=payment.pk)


@transaction.atomic
def verify_payment(*, payment: Payment, actor) -> Payment:
    payment = _locked(payment)
    if payment.status != Payment.Status.REGISTERED:
        raise Conflict(f"Only a registered payment can be verified; this one is {payment.status}.")
    payment.status = Payment.Status.VERIFIED
    payment.verified_at = timezone.now()
    payment.verified_by = actor_label(actor)
    payment.save(update_fields=["status", "verified_at", "verified_by"])
    events.emit_payment_event(events.PAYMENT_VERIFIED, payment)
    return payment


@transaction.atomic
def delete_payment(*, payment: Payment, actor) -> Payment:
    """Mark the payment deleted; the row stays for the audit trail."""
    payment = _locked(payment)
    if payment.status == Payment.Status.VERIFIED:
        raise Conflict("A verified payment cannot be deleted.")
    if payment.status == Payment.Status.DELETED:
        raise Conflict("This payment is already deleted.")
    payment.status = Payment.Status.DELETED
    payment.deleted_at = timezone.now()
    payment.deleted_by = actor_label(actor)
    payment.save(update_fields=["status", "deleted_at", "deleted_by"])
    events.emit_payment_event(events.PAYMENT_DELETED, payment)
    return payment
