"""Who may call an API view: services by the scopes of their key, staff by model
permissions, people on their own account.

A service key may do only what its scopes say (`accounts.models.Scope`); a view names the
scope each method needs in `required_scopes` (method -> scope) and a view that names none
refuses every key. Payment scopes count only on a key that acts for an organization.
"""

from rest_framework.permissions import BasePermission

from accounts.models import ServiceKey


def is_service(request) -> bool:
    return isinstance(request.auth, ServiceKey)


def service_key_of(request) -> ServiceKey | None:
    return request.auth if is_service(request) else None


def service_may(request, view) -> bool:
    """Whether the calling service key has the scope the view asks for this method.
    A method the view does not have passes, to be answered 405."""
    if not hasattr(view, request.method.lower()):
        return True
    scope = getattr(view, "required_scopes", {}).get(request.method)
    if scope is None and request.method == "HEAD":
        scope = getattr(view, "required_scopes", {}).get("GET")
    return scope is not None and request.auth.has_scope(scope)


class IsServiceOrStaff(BasePermission):
    """Other services (by key, with the view's scope) and staff; riders are refused."""

    message = "Only Wild Rydes services and staff may do this."

    def has_permission(self, request, view):
        if is_service(request):
            return service_may(request, view)
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff)


class IsServiceOnly(BasePermission):
    """Other services only (by key, with the view's scope): staff and riders are refused."""

    message = "Only the Wild Rydes service that booked (or did not book) the ride may do this."

    def has_permission(self, request, view):
        return is_service(request) and service_may(request, view)


class IsPerson(BasePermission):
    """A signed-in person (token or session), acting on their own account; not a service."""

    message = "Sign in first."

    def has_permission(self, request, view):
        user = request.user
        return bool(
            user and user.is_authenticated and not is_service(request) and user.pk is not None
        )


class ModelPermissionOrService(BasePermission):
    """Services (by key) need the scope named by the view's `required_scopes` for this
    method; staff need the model permission named by `required_permissions`; everyone
    else is refused with 403."""

    message = "Only finance staff and Wild Rydes services may do this."

    def has_permission(self, request, view):
        if is_service(request):
            if service_may(request, view):
                return True
            self.message = "This service key may not do this (it lacks the scope)."
            return False
        perm = view.required_permissions.get(request.method)
        if perm is None:
            return bool(request.user and request.user.is_authenticated)
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff and user.has_perm(perm))
