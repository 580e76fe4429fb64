"""Who acts for which organization: the walls between organizations, in the admin and the API."""

from django.db.models import QuerySet

from organizations.models import Organization


def organizations_of(user) -> QuerySet[Organization]:
    """The organizations a staff user acts for: every one for a superuser, else those
    they are a member of."""
    if user.is_superuser:
        return Organization.objects.all()
    return Organization.objects.filter(members=user)


def acts_for(user, organization_id) -> bool:
    """Whether a staff user acts for this organization (organizations_of)."""
    return organizations_of(user).filter(pk=organization_id).exists()


def acting_organization(user) -> Organization | None:
    """The organization a finance user's payments belong to: their only one. None for a
    superuser or a member of none or several (the payment is then of no organization)."""
    if user.is_superuser:
        return None
    organizations = list(organizations_of(user)[:2])
    return organizations[0] if len(organizations) == 1 else None
