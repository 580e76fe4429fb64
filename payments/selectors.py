from django.db.models import QuerySet

from accounts.permissions import service_key_of
from core.exceptions import NotFound
from payments.models import Payment


def can_manage_payments(user) -> bool:
    return bool(user and user.is_staff and user.has_perm("payments.view_payment"))


def payments_visible_to(request) -> QuerySet[Payment]:
    """Finance sees all; a service key its organization's (all if it has none); riders their own."""
    payments = Payment.objects.select_related("organization", "ride")
    key = service_key_of(request)
    if key is not None:
        return payments.filter(organization=key.organization) if key.organization_id else payments
    if can_manage_payments(request.user):
        return payments
    return payments.filter(payer=request.user)


def payment_for(request, payment_id) -> Payment:
    payment = payments_visible_to(request).filter(pk=payment_id).first()
    if payment is None:
        raise NotFound("No such payment.")
    return payment


def fare_payment_ids(ride_ids) -> dict:
    """{ride_id: payment_id} of the fare payments of these rides."""
    rows = Payment.objects.filter(ride_id__in=ride_ids, reference__startswith="ride-")
    return dict(rows.values_list("ride_id", "id"))
