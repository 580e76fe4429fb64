from django.db.models import Q, QuerySet

from accounts.permissions import service_key_of
from core.exceptions import NotFound
from payments.models import Organization, Payment


def can_manage_payments(user) -> bool:
    return bool(user and user.is_staff and user.has_perm("payments.view_payment"))


def organizations_of(user) -> QuerySet[Organization]:
    """The organizations a staff user acts for: every one for a superuser, else those
    they are a member of. The walls between organizations, in the admin and the API."""
    if user.is_superuser:
        return Organization.objects.all()
    return Organization.objects.filter(members=user)


def acting_organization(user) -> Organization | None:
    """The organization a finance user's payments belong to: their only one. None for a
    superuser or a member of none or several (the payment is then of no organization)."""
    if user.is_superuser:
        return None
    organizations = list(organizations_of(user)[:2])
    return organizations[0] if len(organizations) == 1 else None


def payments_managed_by(user) -> QuerySet[Payment]:
    """Finance staff manage their organizations' payments and those of no organization
    (fares, the house's own); a superuser all. Another organization's are not there."""
    payments = Payment.objects.select_related("organization", "ride")
    if user.is_superuser:
        return payments
    return payments.filter(
        Q(organization__isnull=True) | Q(organization__in=organizations_of(user).values("pk"))
    )


def payments_visible_to(request) -> QuerySet[Payment]:
    """Finance sees its organizations' (payments_managed_by); a service key its
    organization's (all if it has none); riders their own."""
    payments = Payment.objects.select_related("organization", "ride")
    key = service_key_of(request)
    if key is not None:
        return payments.filter(organization=key.organization) if key.organization_id else payments
    if can_manage_payments(request.user):
        return payments_managed_by(request.user)
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
    return organizations_of(user).filter(pk=organization).exists()
