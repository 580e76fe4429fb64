"""Sign-up, e-mail confirmation and API tokens.

django-allauth's code verification keeps the pending code in the browser session, while the
API contract confirms with `{email, code}` from any client (the web page, a phone app, the
Lambda test). So the code lives in `ConfirmationCode`, hashed, with its expiry and tries.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate, login, logout, password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.models import ConfirmationCode, User
from core.exceptions import DomainError


class AccountError(DomainError):
    pass


def _hash_code(code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), code.encode(), hashlib.sha256).hexdigest()


def _new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def _field_error(field: str, sentences):
    from rest_framework.exceptions import ValidationError

    return ValidationError({field: list(sentences)})


def register_rider(*, email: str, password: str, full_name: str = "") -> User:
    """Create an unconfirmed rider and e-mail them a confirmation code."""
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise _field_error("email", ["An account with this e-mail already exists."])
    candidate = User(email=email, full_name=full_name)
    try:
        password_validation.validate_password(password, user=candidate)
    except DjangoValidationError as error:
        raise _field_error("password", error.messages) from error
    with transaction.atomic():
        user = User.objects.create_user(email=email, password=password, full_name=full_name)
        send_confirmation_code(user)
    return user


def send_confirmation_code(user: User) -> None:
    """(Re)issue the code; an earlier code stops working."""
    code = _new_code()
    ttl = settings.CONFIRMATION_CODE_TTL_MINUTES
    ConfirmationCode.objects.update_or_create(
        user=user,
        defaults={
            "code_hash": _hash_code(code),
            "expires_at": timezone.now() + timedelta(minutes=ttl),
            "failed_attempts": 0,
        },
    )
    transaction.on_commit(
        lambda: send_mail(
            subject=f"Your Wild Rydes code: {code}",
            message=(
                f"Welcome to Wild Rydes!\n\nYour confirmation code is {code}.\n"
                f"It works for {ttl} minutes.\n"
            ),
            from_email=None,
            recipient_list=[user.email],
        )
    )


def resend_confirmation_code(*, email: str) -> None:
    """Send a fresh code to an unconfirmed account; silent otherwise (no account probing)."""
    user = User.objects.filter(email__iexact=email.strip(), email_confirmed_at=None).first()
    if user is not None:
        with transaction.atomic():
            send_confirmation_code(user)


_WRONG_CODE = "That code is not right or has expired. Check the e-mail or ask for a new code."


def confirm_email(*, email: str, code: str) -> User:
    """Confirm the account if the code matches, is fresh and has tries left.

    A wrong try is committed before the error is raised, so the count survives.
    """
    with transaction.atomic():
        pending = (
            ConfirmationCode.objects.select_for_update()
            .select_related("user")
            .filter(user__email__iexact=email.strip())
            .first()
        )
        if pending is None:
            raise AccountError(_WRONG_CODE)
        if pending.failed_attempts >= settings.CONFIRMATION_CODE_MAX_ATTEMPTS:
            raise AccountError("This code was tried too many times. Ask for a new code.")
        if pending.expires_at <= timezone.now():
            raise AccountError("This code has expired. Ask for a new code.")
        matches = hmac.compare_digest(pending.code_hash, _hash_code(code.strip()))
        if matches:
            user = pending.user
            user.email_confirmed_at = timezone.now()
            user.save(update_fields=["email_confirmed_at"])
            pending.delete()
            return user
        pending.failed_attempts += 1
        pending.save(update_fields=["failed_attempts"])
    left = settings.CONFIRMATION_CODE_MAX_ATTEMPTS - pending.failed_attempts
    if left:
        raise AccountError(
            f"That code is not right. {left} {'try' if left == 1 else 'tries'} left."
        )
    raise AccountError(
        "That code is not right, and it has now been tried too many times. Ask for a new code."
    )


def authenticate_confirmed(*, email: str, password: str, request=None) -> User:
    """The confirmed user with this e-mail and password, or a sentence why not."""
    user = authenticate(request, username=email.strip().lower(), password=password)
    if user is None:
        raise AccountError("Wrong e-mail or password.")
    if not user.is_confirmed:
        raise AccountError("Confirm your e-mail address first: enter the code we sent you.")
    return user


def issue_token(*, email: str, password: str) -> str:
    """The API token of a confirmed user whose password matches."""
    user = authenticate_confirmed(email=email, password=password)
    token, _ = Token.objects.get_or_create(user=user)
    return token.key


def sign_in(*, request, email: str, password: str) -> User:
    """Start a browser session (the web pages call the API with session + CSRF)."""
    user = authenticate_confirmed(email=email, password=password, request=request)
    login(request, user)
    return user


def sign_out(*, request) -> None:
    logout(request)
