"""How API callers prove who they are: riders and staff with `Authorization: Token <key>`,
other services (promo draws, payments) with `Authorization: Api-Key <key>`."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token
from rest_framework_api_key.permissions import KeyParser

from accounts.models import ServiceKey


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication, with expiry.

    A token expires API_TOKEN_TTL_DAYS after it was last used (sliding): the token's
    `created` column holds its last use, moved forward at most once every
    TOKEN_TOUCH_SECONDS, so a normal call stays one query (DRF's, the token with its user).
    An expired token is deleted and refused with a sentence that says to sign in again.
    """

    def authenticate_credentials(self, key):
        if "\x00" in key:  # never a token; PostgreSQL's text cannot even hold it
            raise exceptions.AuthenticationFailed("Invalid token.")
        try:
            token = Token.objects.select_related("user").get(key=key)
        except Token.DoesNotExist:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        now = timezone.now()
        ttl = token_ttl()
        if token.created <= now - ttl:
            token.delete()
            raise exceptions.AuthenticationFailed(TOKEN_EXPIRED)
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        if token.created < now - min(TOKEN_TOUCH_SECONDS, ttl / 2):
            Token.objects.filter(key=key).update(created=now)
        return token.user, token


def token_ttl() -> timedelta:
    """How long a token lives after its last use (API_TOKEN_TTL_DAYS)."""
    return timedelta(days=settings.API_TOKEN_TTL_DAYS)


TOKEN_EXPIRED = "That token has expired. Sign in again for a new one."  # noqa: S105
# How often a token's last use is written (the sliding expiry's resolution).
TOKEN_TOUCH_SECONDS = timedelta(hours=1)


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
            if "\x00" in key:  # never a key; PostgreSQL's text cannot even hold it
                raise ServiceKey.DoesNotExist
            service_key = ServiceKey.objects.get_from_key(key)
        except ServiceKey.DoesNotExist:
            raise exceptions.AuthenticationFailed("That service key is not valid.") from None
        if service_key.has_expired:
            raise exceptions.AuthenticationFailed("That service key has expired.")
        return ServicePrincipal(service_key), service_key

    def authenticate_header(self, request):
        return self.keyword
