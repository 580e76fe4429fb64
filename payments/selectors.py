from django.db.models import Q, QuerySet

from core.exceptions import NotFound
from organizations.selectors import acts_for, organizations_of
from payments.models import Payment


def can_manage_payments(user) -> bool:
    return bool(user and user.is_staff and user.has_perm("payments.view_payment"))


def payments_managed_by(user) -> QuerySet[Payment]:
    """Finance staff manage their organizations' payments and those of no organization
    (fares, the house's own); a superuser all. Another organization's are not there."""
    payments = Payment.objects.select_related("organization", "ride")
    if user.is_superuser:
        return payments
    return payments.filter(
        Q(organization__isnull=True) | Q(organization__in=organizations_of(user).values("pk"))
    )


def payments_visible_to(*, user, service_key=None) -> QuerySet[Payment]:
    """Finance sees its organizations' (payments_managed_by); a service key its
    organization's (all if it has none); riders their own."""
    payments = Payment.objects.select_related("organization", "ride")
    if service_key is not None:
        if service_key.organization_id is None:
            return payments
        return payments.filter(organization_id=service_key.organization_id)
    if can_manage_payments(user):
        return payments_managed_by(user)
    return payments.filter(payer=user)


def sees_who_handled_payments(*, user, service_key=None) -> bool:
    """Whether the caller's answers say who registered, verified or deleted a payment:
    finance staff and services (who manage payments), not riders (who see their own)."""
    return service_key is not None or can_manage_payments(user)


def payment_for(*, user, service_key=None, payment_id) -> Payment:
    visible = payments_visible_to(user=user, service_key=service_key)
    payment = visible.filter(pk=payment_id).first()
    if payment is None:
        raise NotFound("No such payment.")
    return payment


def fare_payment_ids(ride_ids) -> dict:
    """{ride_id: payment_id} of the fare payments of these rides."""
    rows = Payment.objects.filter(ride_id__in=ride_ids, reference__startswith="ride-")
    return dict(rows.values_list("ride_id", "id"))


def ride_to_pay_for(ride_id):
    """The ride a payment is registered for, or None: the ride model the Payment's foreign
    key names, so payments need not import the rides app (rides calls payments)."""
    rides = Payment._meta.get_field("ride").related_model
    return rides._default_manager.filter(pk=ride_id).first()


def may_read_payment_data(user, data) -> bool:
    """Whether `user` may read a payment event's payload: finance staff of its organization
    (or of none) and superusers, the same people who see the payment itself."""
    if user.is_superuser:
        return True
    if not can_manage_payments(user):
        return False
    organization = data.get("organization_id") if isinstance(data, dict) else None
    if organization is None:
        return True
    return acts_for(user, organization)
