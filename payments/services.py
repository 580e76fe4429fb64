"""Register, verify and delete payments. Each change emits its event in the same transaction."""

import uuid

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import canonical_email
from accounts.selectors import user_by_email
from core.actors import actor_label
from core.exceptions import Conflict, DomainError
from core.money import Money
from core.observability import count_metric
from organizations.models import Organization
from organizations.services import organization_acted_for
from payments import events, selectors
from payments.models import Payment, Subscription

# A ride's charges (its fare, and any fee) have references of this form, made by the ride
# service when the ride ends; nobody else may register one, or a payment registered
# beforehand would be taken for the ride's fare.
RIDE_REFERENCE_PREFIX = "ride-"


def duplicate_reference_sentence(reference: str) -> str:
    return f"A payment with reference {reference!r} already exists."


def reserved_reference_sentence(reference: str) -> str | None:
    """Why `reference` may not be given to a payment by an API client or a payment list,
    or None. References of rides' charges are made only by the ride's completion."""
    if reference.lower().startswith(RIDE_REFERENCE_PREFIX):
        return (
            f"References starting with {RIDE_REFERENCE_PREFIX!r} are reserved for the fares "
            "of rides, which are registered when the ride is completed. Use another reference."
        )
    return None


def _check_reference_is_free(reference: str) -> None:
    if Payment.objects.filter(reference=reference).exists():
        raise Conflict(duplicate_reference_sentence(reference))


@transaction.atomic  # the payment and its event together
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
    payment_id=None,
) -> Payment:
    """Register a payment (API, admin). A reference in use: Conflict (409), also for the
    loser of two requests with the same reference at once; a ride's reference: 400.

    `payment_id`: the id to register it under (an Idempotency-Key claim's). A retry of a
    request whose payment was registered under it (the first process died before
    answering) gets that payment back: never a second one, never a 409 for its own."""
    if payment_id is not None and (done := Payment.objects.filter(id=payment_id).first()):
        return done
    sentence = reserved_reference_sentence(reference)
    if sentence:
        raise DomainError(sentence)
    return _register(
        amount_minor=amount_minor,
        currency=currency,
        reference=reference,
        actor=actor,
        ride=ride,
        payer=payer,
        payer_email=payer_email,
        organization=organization,
        payment_id=payment_id,
    )


def register_requested_payment(
    *,
    actor,
    service_key=None,
    amount_minor: int,
    currency: str,
    reference: str,
    ride_id=None,
    payer_email: str = "",
    organization=None,
    payment_id=None,
) -> Payment:
    """A payment an API client registers (register_payment's rules apply): for a ride
    that exists (else 400 on `ride`), paid by the account with `payer_email` if there is
    one, and belonging to the organization `paying_organization` allows (`organization`:
    the id the caller chose, or None)."""
    paid_by = paying_organization(user=actor, service_key=service_key, chosen=organization)
    ride = None
    if ride_id:
        ride = selectors.ride_to_pay_for(ride_id)
        if ride is None:
            raise ValidationError({"ride": ["No ride with this id."]})
    return register_payment(
        payment_id=payment_id,
        amount_minor=amount_minor,
        currency=currency,
        reference=reference,
        ride=ride,
        payer=user_by_email(payer_email) if payer_email else None,
        payer_email=payer_email,
        organization=paid_by,
        actor=actor,
    )


def paying_organization(*, user, service_key=None, chosen=None) -> Organization | None:
    """The organization a payment registered through the API belongs to, by the rule
    payment lists share (organizations.services.organization_acted_for): `chosen` (an id)
    if the caller acts for it, else the caller's only one; a service key's own. 400 on
    `organization` for one they do not act for, or for a member of several who did not
    choose. A superuser who chooses none, or finance staff of none, registers a payment of
    no organization (the house's own, as fares are), seen by all finance staff."""
    if service_key is None and user.is_superuser and chosen in (None, ""):
        return None
    return organization_acted_for(
        user=user,
        service_key=service_key,
        chosen=chosen,
        refusal="You cannot register payments for that organization.",
    )


def _register(*, amount_minor, currency, reference, actor, ride, payer, payer_email="",
              organization=None, payment_id=None, at=None) -> Payment:  # fmt: skip
    """`at`: the moment it is registered (default: now)."""
    _check_reference_is_free(reference)
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction stays usable
            payment = Payment.objects.create(
                id=payment_id or uuid.uuid4(),
                amount_minor=amount_minor,
                currency=currency,
                reference=reference,
                ride=ride,
                payer=payer,
                # In the one form accounts use: closing the account finds it (payments.privacy).
                payer_email=canonical_email(payer_email or (payer.email if payer else "")),
                organization=organization,
                registered_by=actor_label(actor),
                registered_at=at or timezone.now(),
            )
    except IntegrityError:  # registered by someone else since the check above
        if payment_id is not None and (done := Payment.objects.filter(id=payment_id).first()):
            return done  # by the same request, under a claim that had gone stale
        if Payment.objects.filter(reference=reference).exists():
            raise Conflict(duplicate_reference_sentence(reference)) from None
        raise
    events.emit_payment_event(events.PAYMENT_REGISTERED, payment)
    count_metric("PaymentsRegistered")
    return payment


def ride_charge_reference(ride, kind: str = "fare") -> str:
    """`ride-<id>` for the fare, `ride-<id>-<kind>` for another charge of the ride."""
    return f"{RIDE_REFERENCE_PREFIX}{ride.id}" + ("" if kind == "fare" else f"-{kind}")


@transaction.atomic
def register_ride_charge(
    *, ride, actor, amount_minor: int, currency: str, kind: str, at=None
) -> Payment:
    """A charge of a ride (its fare, a cancellation fee), registered exactly once per kind:
    for the rides service only (its reference is reserved, see `reserved_reference_sentence`).
    `at`: the moment of the ride's change that charges it (default: now)."""
    reference = ride_charge_reference(ride, kind)
    existing = Payment.objects.filter(reference=reference).first()
    if existing is not None:
        return existing
    return _register(
        amount_minor=amount_minor,
        currency=currency,
        reference=reference,
        ride=ride,
        payer=ride.rider,
        actor=actor,
        at=at,
    )


def register_fare_payment(*, ride, actor) -> Payment:
    """The fare of a completed ride, registered exactly once (its reference is the ride),
    at the ride's completion: one clock reading, so a ride completed at 23:59:59.999 has
    its fare registered (and in BI) on that day, not on the next."""
    return register_ride_charge(
        ride=ride, actor=actor, amount_minor=ride.fare_minor, currency=ride.fare_currency,
        kind="fare", at=ride.completed_at,
    )  # fmt: skip


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
def delete_payment(*, payment: Payment, actor, reason: str = "") -> Payment:
    """Mark the payment deleted; the row stays for the audit trail. `reason`: a
    Payment.DeletionReason when it is not a plain deletion (kept, and in the event)."""
    payment = _locked(payment)
    if payment.status == Payment.Status.VERIFIED:
        raise Conflict("A verified payment cannot be deleted.")
    if payment.status == Payment.Status.DELETED:
        raise Conflict("This payment is already deleted.")
    payment.status = Payment.Status.DELETED
    payment.deleted_at = timezone.now()
    payment.deleted_by = actor_label(actor)
    payment.deletion_reason = reason
    payment.save(update_fields=["status", "deleted_at", "deleted_by", "deletion_reason"])
    events.emit_payment_event(events.PAYMENT_DELETED, payment)
    return payment


def waive_ride_fee(*, payment: Payment, actor) -> Payment:
    """A ride's fee an operator forgave (rides.services.waive_cancellation_fee): deleted,
    with the reason, so the payment's page and its event say it was waived, and by whom."""
    return delete_payment(payment=payment, actor=actor, reason=Payment.DeletionReason.FEE_WAIVED)


class SubscriptionLimitExceeded(DomainError):
    """No active subscription of the organization covers a payment list."""


def subscription_shortfalls(subscription: Subscription, rows: int, totals: dict[str, int]):
    """What of a list of `rows` rows totalling `totals` ({currency: minor units}, each
    currency apart) `subscription` does not cover, in words; empty if it covers it all."""
    found = []
    if rows > subscription.max_rows_per_list:
        found.append(f"{rows:,} rows where it allows {subscription.max_rows_per_list:,}")
    for currency, minor in sorted(totals.items()):
        limit = subscription.limit_for(currency)
        if limit is None:
            found.append(f"no amounts in {currency}")
        elif minor > limit:
            found.append(f"{Money(minor, currency)} where it allows {Money(limit, currency)}")
    return found


def check_subscription_limits(
    *, organization, rows_count: int, totals_by_currency: dict[str, int], at=None
) -> Subscription:
    """The organization's active subscription that covers a list of `rows_count` rows
    totalling `totals_by_currency` ({currency: minor units}; currencies are never added
    together). SubscriptionLimitExceeded, with what is missing, when none does."""
    at = at or timezone.now()
    active = list(
        Subscription.objects.filter(
            Q(ends_at__isnull=True) | Q(ends_at__gt=at),
            organization=organization,
            starts_at__lte=at,
        )
        .prefetch_related("limits")
        .order_by("-max_rows_per_list", "pk")
    )
    if not active:
        raise SubscriptionLimitExceeded(f"{organization} has no active subscription.")
    missing = [subscription_shortfalls(s, rows_count, totals_by_currency) for s in active]
    for subscription, shortfalls in zip(active, missing, strict=True):
        if not shortfalls:
            return subscription
    money = ", ".join(
        str(Money(minor, currency)) for currency, minor in sorted(totals_by_currency.items())
    )
    raise SubscriptionLimitExceeded(
        f"The list has {rows_count:,} rows totalling {money or 'nothing'}; the "
        f"{active[0].plan} subscription does not cover it: {'; '.join(missing[0])}."
    )
