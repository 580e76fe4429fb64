"""How API callers prove who they are: riders and staff with `Authorization: Token <key>`,
other services (promo draws, payments) with `Authorization: Api-Key <key>`."""

from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from django.db import connection
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token
from rest_framework_api_key.permissions import KeyParser

from accounts.models import ServiceKey, User


@cache
def _user_by_token_sql() -> str:
    qn = connection.ops.quote_name
    users, tokens = qn(User._meta.db_table), qn(Token._meta.db_table)
    created = f"{tokens}.{qn('created')}"
    return (
        f"SELECT {users}.*, CASE WHEN {created} < %s THEN 1 ELSE 0 END AS token_stale"  # noqa: S608 (names from models)
        f" FROM {tokens} INNER JOIN {users}"
        f" ON {users}.{qn(User._meta.pk.column)} = {tokens}.{qn('user_id')}"
        f" WHERE {tokens}.{qn('key')} = %s AND {created} > %s"
    )


def _sql_time(value):
    return connection.ops.adapt_datetimefield_value(value)


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication, reading the user by token in one raw query, with expiry.

    DRF builds `Token.objects.select_related("user").get(key=...)` through the ORM on every
    API call: ~0.3 ms of query compilation, a third of a ride request's budget. The raw
    query is the same join, written once; `User.objects.raw` still converts the columns
    and builds the user as the ORM does.

    A token expires API_TOKEN_TTL_DAYS after it was last used (sliding): the token's
    `created` column holds its last use, moved forward at most once every
    TOKEN_TOUCH_SECONDS, so a normal call stays one query. An expired token is deleted
    and refused with a sentence that says to sign in again.
    """

    def authenticate_credentials(self, key):
        from accounts.services import token_ttl

        now = timezone.now()
        ttl = token_ttl()
        touch_before = now - min(TOKEN_TOUCH_SECONDS, ttl / 2)
        params = [_sql_time(touch_before), key, _sql_time(now - ttl)]
        user = next(iter(User.objects.raw(_user_by_token_sql(), params)), None)
        if user is None:
            if Token.objects.filter(key=key).delete()[0]:
                raise exceptions.AuthenticationFailed(TOKEN_EXPIRED)
            raise exceptions.AuthenticationFailed("Invalid token.")
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        if user.token_stale:
            Token.objects.filter(key=key).update(created=now)
        token = Token.from_db(connection.alias, ["key", "user_id"], [key, user.pk])
        token.user = user
        return user, token


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
            service_key = ServiceKey.objects.get_from_key(key)
        except ServiceKey.DoesNotExist:
            raise exceptions.AuthenticationFailed("That service key is not valid.") from None
        if service_key.has_expired:
            raise exceptions.AuthenticationFailed("That service key has expired.")
        return ServicePrincipal(service_key), service_key

    def authenticate_header(self, request):
        return self.keyword
