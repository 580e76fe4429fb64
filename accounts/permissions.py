from rest_framework.permissions import BasePermission

from accounts.models import ServiceKey


def is_service(request) -> bool:
    return isinstance(request.auth, ServiceKey)


class IsServiceOrStaff(BasePermission):
    """Other services (by key) and staff; riders are refused."""

    message = "Only Wild Rydes services and staff may do this."

    def has_permission(self, request, view):
        if is_service(request):
            return True
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff)


class IsPerson(BasePermission):
    """A signed-in person (token or session), acting on their own account; not a service."""

    message = "Sign in first."

    def has_permission(self, request, view):
        user = request.user
        return bool(
            user and user.is_authenticated and not is_service(request) and user.pk is not None
        )


def service_key_of(request) -> ServiceKey | None:
    return request.auth if is_service(request) else None


class ModelPermissionOrService(BasePermission):
    """Services (by key) may; staff need the model permission named by the view's
    `required_permission` for this method; everyone else is refused with 403."""

    message = "Only finance staff and Wild Rydes services may do this."

    def has_permission(self, request, view):
        if is_service(request):
            return True
        perm = view.required_permissions.get(request.method)
        if perm is None:
            return bool(request.user and request.user.is_authenticated)
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff and user.has_perm(perm))
