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
