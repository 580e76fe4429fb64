"""Who acts for which organization: the walls between organizations, in the admin and the API."""

from django.db.models import QuerySet

from organizations.models import Organization


def organizations_of(user) -> QuerySet[Organization]:
    """The organizations a staff user acts for: every one for a superuser, else those
    they are a member of."""
    if user.is_superuser:
        return Organization.objects.all()
    return Organization.objects.filter(members=user)


def organizations_acted_for(*, user, service_key=None) -> QuerySet[Organization]:
    """The organizations a caller acts for in the API and the admin: a service key's own,
    else the staff user's (organizations_of)."""
    if service_key is not None:
        return Organization.objects.filter(pk=service_key.organization_id)
    return organizations_of(user)


def acts_for(user, organization_id) -> bool:
    """Whether a staff user acts for this organization (organizations_of)."""
    return organizations_of(user).filter(pk=organization_id).exists()
