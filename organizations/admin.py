"""The organization walls in the admin, for every model that belongs to an organization.

The Organization page itself is registered by payments.admin (it shows the subscriptions)."""

from organizations.models import Organization
from organizations.selectors import organizations_of


class OrganizationScoped:
    """A staff user who is not a superuser sees and picks only the organizations they act
    for (organizations.selectors.organizations_of): the same walls as the API."""

    organization_path = "organization"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(
            **{f"{self.organization_path}__in": organizations_of(request.user).values("pk")}
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Organization:
            kwargs["queryset"] = organizations_of(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
