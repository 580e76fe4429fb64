"""`Authorization: Api-Key <key>` for other services (promo draws, payments)."""

from dataclasses import dataclass

from rest_framework import authentication, exceptions
from rest_framework_api_key.permissions import KeyParser

from accounts.models import ServiceKey


@dataclass(frozen=True)
class ServicePrincipal:
    """Who is calling when a service key is used: a service, not a person."""

    key: ServiceKey
    is_authenticated = True
    is_staff = False
    is_superuser = False
    is_active = True

    @property
    def pk(self):
        return None

    @property
    def email(self) -> str:
        return f"service:{self.key.service}"

    def has_perm(self, perm, obj=None) -> bool:
        return False

    def __str__(self):
        return f"service key {self.key.prefix} ({self.key.service})"


class ServiceKeyAuthentication(authentication.BaseAuthentication):
    keyword = KeyParser.keyword

    def authenticate(self, request):
        key = KeyParser().get(request)
        if key is None:
            return None
        try:
            service_key = ServiceKey.objects.get_from_key(key)
        except ServiceKey.DoesNotExist:
            raise exceptions.AuthenticationFailed("That service key is not valid.") from None
        if service_key.has_expired:
            raise exceptions.AuthenticationFailed("That service key has expired.")
        return ServicePrincipal(service_key), service_key

    def authenticate_header(self, request):
        return self.keyword
