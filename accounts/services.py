"""Sign-up, e-mail confirmation, API tokens and account self-service.

django-allauth's code verification keeps the pending code in the browser session, while the
API contract confirms with `{email, code}` from any client (the web page, a phone app, the
Lambda test). So the code lives in `ConfirmationCode`, hashed, with its expiry.

E-mail addresses are handled in one form only, `canonical_email`: stored, looked up
(exactly, never case-insensitively) and throttled on.

Wrong code guesses are counted per purpose and address (`accounts.attempts`), whatever code
is current: asking for a new code brings no new tries. The count is taken before the code
is compared, so concurrent guesses can't exceed the limit either. New codes asked for
(resend, password reset) are counted per address too, so nobody can have a person's inbox
filled with them.

Those 5 guesses are spent by whoever types codes for the address, the person or not: anyone
who knows a rider's e-mail could otherwise keep them from confirming or resetting for a day.
So the e-mail also carries a link, `SITE_URL/<page>/#email=...&token=...`, whose token is 32
random bytes (stored as a hash, on the code's row: same expiry, dies with the code). The
token rides in the URL's fragment, which browsers send to no server (nor in Referer): the
page's script posts it as `token` instead of `code`. A right token works whatever the count
(256 bits cannot be guessed in 5 tries or 5 billion); a wrong one is counted like a wrong
code and refused with one sentence, whether it was used, expired, replaced or never sent.
An e-mail is sent even when the codes are locked: its link is the way out.
"""

import hashlib
import hmac
import logging
import math
import secrets
import time
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote, urlencode

from django.conf import settings
from django.contrib.auth import (
    SESSION_KEY,
    authenticate,
    login,
    logout,
    password_validation,
    update_session_auth_hash,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.attempts import (
    attempt_key,
    count_attempt,
    forget_attempts,
    forget_attempts_starting,
)
from accounts.authentication import token_ttl
from accounts.models import (
    PAYMENT_SCOPES,
    ConfirmationCode,
    ServiceKey,
    User,
    canonical_email,
    mail_address,
)
from accounts.signals import account_closed, account_closing
from accounts.throttles import from_client_key_prefix
from core import idempotency
from core.exceptions import DomainError
from organizations.selectors import acts_for

logger = logging.getLogger(__name__)

Purpose = ConfirmationCode.Purpose


class AccountError(DomainError):
    pass


class AccountForbidden(DomainError):
    status_code = 403


class TooManyCodes(DomainError):
    status_code = 429

    def __init__(self, detail: str, retry_after: float):
        super().__init__(detail)
        self.retry_after = max(1, math.ceil(retry_after))

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


# --- settings -------------------------------------------------------------------------


def _code_ttl() -> timedelta:
    return timedelta(minutes=settings.CONFIRMATION_CODE_TTL_MINUTES)


def _max_code_attempts() -> int:
    return settings.CONFIRMATION_CODE_MAX_ATTEMPTS


def _code_attempts_window_seconds() -> float:
    return settings.CONFIRMATION_CODE_ATTEMPTS_WINDOW_HOURS * 3600.0


# --- helpers --------------------------------------------------------------------------


def _hash_code(code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), code.encode(), hashlib.sha256).hexdigest()


def _hash_link(token: str) -> str:
    message = f"link:{token}".encode("utf-8", "surrogatepass")
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _new_link_token() -> str:
    return secrets.token_urlsafe(32)  # 32 random bytes: 43 characters of base64url


def _new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def _field_error(field: str, sentences) -> DjangoValidationError:
    """Sentences about one field of the request (core.exceptions answers them as 400)."""
    return DjangoValidationError({field: list(sentences)})


def _validate_new_password(password: str, user: User, field: str = "password") -> None:
    try:
        password_validation.validate_password(password, user=user)
    except DjangoValidationError as error:
        raise _field_error(field, error.messages) from error


@contextmanager
def _no_faster_than(seconds: float):
    """Take at least `seconds`, so an answer's timing does not tell whether the account
    exists (one path sends an e-mail, the other does not)."""
    started = time.monotonic()
    try:
        yield
    finally:
        left = seconds - (time.monotonic() - started)
        if left > 0:
            time.sleep(left)


def _in_words(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    if minutes < 90:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = round(minutes / 60)
    return f"{hours} hours"


# --- codes ----------------------------------------------------------------------------

_SUBJECTS = {
    Purpose.CONFIRM: "Your Wild Rydes code: {code}",
    Purpose.RESET: "Your Wild Rydes password reset code: {code}",
}
_PAGES = {Purpose.CONFIRM: "frontend:verify", Purpose.RESET: "frontend:reset-password"}


@dataclass(frozen=True)
class IssuedCode:
    """What the e-mail carries: the code to type and the link's token (plain, only here)."""

    code: str
    token: str


def _issue_code(user: User, purpose: str) -> IssuedCode:
    """Store a new code and link token for `user` and `purpose` (earlier ones stop working)."""
    issued = IssuedCode(code=_new_code(), token=_new_link_token())
    ConfirmationCode.objects.update_or_create(
        user=user,
        purpose=purpose,
        defaults={
            "code_hash": _hash_code(issued.code),
            "link_hash": _hash_link(issued.token),
            "expires_at": timezone.now() + _code_ttl(),
        },
    )
    return issued


def _code_link(purpose: str, email: str, token: str) -> str | None:
    """The e-mail's link to the page that uses the token, absolute (SITE_URL), the address
    and the token in its fragment; None where the site's address is not known."""
    if not settings.SITE_URL:
        return None
    # SITE_URL holds a stage's prefix; reverse() would add the one the last request set.
    path = reverse(_PAGES[purpose]).removeprefix(get_script_prefix())
    fragment = urlencode({"email": email, "token": token}, quote_via=quote)
    return f"{settings.SITE_URL.rstrip('/')}/{path}#{fragment}"


def _one_line(text: str) -> str:
    """Typed text on one line of a plain-text e-mail: control characters and line breaks
    become spaces, so it cannot add lines (a fake code, a fake link)."""
    cleaned = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)
    return " ".join(cleaned.split())


def _code_email(user: User, purpose: str, issued: IssuedCode) -> dict:
    """The e-mail's subject and text: plain text only, as every e-mail of the project (no
    HTML part a mail client would render); the link percent-encodes the address."""
    context = {
        "purpose": purpose,
        "code": issued.code,
        "link": _code_link(purpose, user.email, issued.token),
        "ttl": settings.CONFIRMATION_CODE_TTL_MINUTES,
        "email": _one_line(user.email),
    }
    return {
        "subject": _SUBJECTS[purpose].format(code=issued.code),
        "message": render_to_string("accounts/email/code.txt", context).strip() + "\n",
    }


def _mail_code(user: User, purpose: str, issued: IssuedCode) -> bool:
    """E-mail the code and link; False (logged) when the mail service refuses or fails."""
    try:
        send_mail(
            **_code_email(user, purpose, issued),
            from_email=None,
            recipient_list=[mail_address(user.email)],
        )
    except Exception:  # any backend error: SES refusal, network, SMTP
        logger.exception("Could not e-mail the %s code to user %s", purpose, user.pk)
        return False
    return True


def _attempts_key(purpose: str, email: str) -> str:
    return attempt_key(f"code_{purpose}", email)


def _code_mails_key(email: str) -> str:
    return attempt_key("code_mails", email)


def _count_code_request(email: str) -> None:
    """Count a request for a new code (resend or password reset) to `email`; TooManyCodes
    beyond CONFIRMATION_CODE_MAILS_PER_HOUR in an hour. Counted for every address, with an
    account or not, before anything is looked up: the answer tells nothing about it."""
    limit = settings.CONFIRMATION_CODE_MAILS_PER_HOUR
    attempt = count_attempt(_code_mails_key(email), limit=limit, period=3600.0)
    if not attempt.allowed:
        raise TooManyCodes(
            f"A new code for this address was asked for {limit} times in the last hour. "
            "Use the link or the code in the newest e-mail, or try again in "
            f"{_in_words(attempt.retry_after)}.",
            attempt.retry_after,
        )


def _locked_sentence(retry_after: float) -> str:
    """The way out of a lockout: the e-mailed link works whatever the count."""
    return (
        "Use the link in the e-mail we sent (or ask for a new e-mail), or type a code "
        f"again in {_in_words(retry_after)}."
    )


def _check_code(*, purpose: str, email: str, code: str) -> ConfirmationCode:
    """The pending code row if `code` is right; else AccountError with a sentence.

    The attempt is counted (committed) before the code is compared; a right code clears
    the count. The answers are the same for an address with no account or no code.
    """
    email = canonical_email(email)
    key = _attempts_key(purpose, email)
    attempt = count_attempt(key, limit=_max_code_attempts(), period=_code_attempts_window_seconds())
    if not attempt.allowed:
        raise AccountError(
            f"Too many wrong codes for this address. {_locked_sentence(attempt.retry_after)}"
        )
    pending = (
        ConfirmationCode.objects.select_related("user")
        .filter(user__email=email, user__is_active=True, purpose=purpose)
        .first()
    )
    expected = pending.code_hash if pending is not None else _hash_code(_new_code())
    matches = hmac.compare_digest(expected, _hash_code(code.strip()))
    fresh = pending is not None and pending.expires_at > timezone.now()
    if matches and fresh:
        forget_attempts(key)
        return pending
    if matches and not fresh:  # whoever sends the right code knows the account
        raise AccountError("This code has expired. Ask for a new code.")
    left = attempt.left
    if not left:
        raise AccountError(
            "That code is not right, and that was the last try for this address. "
            f"{_locked_sentence(attempt.retry_after)}"
        )
    tries = f"{left} {'try' if left == 1 else 'tries'} left."
    # The same sentence whether or not the address has an account or a pending code.
    if purpose == Purpose.CONFIRM:
        raise AccountError(f"That code is not right. {tries}")
    raise AccountError(f"That code is not right or has expired. {tries}")


_LINK_REFUSED = {
    Purpose.CONFIRM: (
        "This link no longer works: it was already used, it has expired, or a newer e-mail "
        "replaced it. If you confirmed already, sign in; if not, ask for a new code."
    ),
    Purpose.RESET: (
        "This link no longer works: it was already used, it has expired, or a newer e-mail "
        "replaced it. Ask for a new e-mail."
    ),
}


def _check_link(*, purpose: str, email: str, token: str) -> ConfirmationCode:
    """The pending code row if `token` is its link's; else AccountError, one sentence
    whatever the reason (used, expired, replaced, never sent, no account).

    Counted like a code guess, before the comparison, but never refused for the count: the
    token is 256 random bits, which no number of guesses finds, and the rider whose code
    tries someone else used up gets in with it. The row is read by address, the same for a
    right and a wrong token, and the hashes compared in constant time."""
    email = canonical_email(email)
    key = _attempts_key(purpose, email)
    count_attempt(key, limit=_max_code_attempts(), period=_code_attempts_window_seconds())
    pending = (
        ConfirmationCode.objects.select_related("user")
        .filter(user__email=email, user__is_active=True, purpose=purpose)
        .first()
    )
    expected = pending.link_hash if pending is not None else ""
    if not expected:  # no row, or one from before links: compare with a hash all the same
        expected = _hash_link(_new_link_token())
    matches = hmac.compare_digest(expected, _hash_link(token))
    if matches and pending.expires_at > timezone.now():
        forget_attempts(key)
        return pending
    raise AccountError(_LINK_REFUSED[purpose])


def _check_code_or_link(*, purpose: str, email: str, code: str = "", token: str = ""):
    if token:
        return _check_link(purpose=purpose, email=email, token=token)
    return _check_code(purpose=purpose, email=email, code=code)


_CODE_TAKEN = {
    Purpose.CONFIRM: "This code no longer works: it was just used. If it was you, sign in.",
    Purpose.RESET: (
        "This code no longer works: it was just used. If it was not you, ask for a new e-mail."
    ),
}


def _take(pending: ConfirmationCode, *, by_link: bool) -> None:
    """Use the checked code row up, inside the transaction that acts on it: only the request
    that deletes it goes on. Another request that passed the check with the same code or
    link at the same moment (or a row replaced by a newer e-mail, or deleted with a closed
    account, since the check) is refused with the sentence of what it brought."""
    taken, _ = ConfirmationCode.objects.filter(
        pk=pending.pk, code_hash=pending.code_hash, link_hash=pending.link_hash
    ).delete()
    if not taken:
        raise AccountError((_LINK_REFUSED if by_link else _CODE_TAKEN)[pending.purpose])


# --- sign-up and confirmation ---------------------------------------------------------


@dataclass(frozen=True)
class Registration:
    user: User
    email_sent: bool


def register_rider(*, email: str, password: str, full_name: str = "") -> Registration:
    """Create an unconfirmed rider and e-mail them a confirmation code.

    The account and its code are committed first; the e-mail is sent after. When the mail
    service fails, the account stays and `email_sent` is False: the person asks for the
    code again (resend). Call outside a transaction.
    """
    email = canonical_email(email)
    taken = _field_error(
        "email",
        [
            "An account with this e-mail already exists. If it is yours and not "
            "confirmed yet, ask for a new code."
        ],
    )
    if User.objects.filter(email=email).exists():
        raise taken
    _validate_new_password(password, User(email=email, full_name=full_name))
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=password, full_name=full_name)
            issued = _issue_code(user, Purpose.CONFIRM)
    except IntegrityError:  # the same e-mail signed up at the same moment
        if User.objects.filter(email=email).exists():
            raise taken from None
        raise
    return Registration(user=user, email_sent=_mail_code(user, Purpose.CONFIRM, issued))


def send_confirmation_code(user: User) -> bool:
    """(Re)issue the sign-up code and e-mail it; an earlier code stops working."""
    with transaction.atomic():
        issued = _issue_code(user, Purpose.CONFIRM)
    return _mail_code(user, Purpose.CONFIRM, issued)


def resend_confirmation_code(*, email: str) -> None:
    """Send a fresh code and link to an unconfirmed account, even while its codes are locked
    (the link is the way out); silent otherwise (no account probing, in the answer or its
    timing)."""
    email = canonical_email(email)
    _count_code_request(email)
    with _no_faster_than(settings.ACCOUNT_ANSWER_FLOOR_SECONDS):
        user = User.objects.filter(email=email, email_confirmed_at=None, is_active=True).first()
        if user is not None:
            send_confirmation_code(user)


def confirm_email(*, email: str, code: str = "", token: str = "") -> User:
    """Confirm the account if the code matches, is fresh and the address has tries left; or
    if the token is the e-mailed link's and fresh."""
    pending = _check_code_or_link(purpose=Purpose.CONFIRM, email=email, code=code, token=token)
    user = pending.user
    with transaction.atomic():
        _take(pending, by_link=bool(token))
        user.email_confirmed_at = timezone.now()
        user.save(update_fields=["email_confirmed_at"])
    return user


# --- sign-in, tokens and sessions -----------------------------------------------------


def authenticate_confirmed(*, email: str, password: str, request=None) -> User:
    """The confirmed user with this e-mail and password, or a sentence why not."""
    user = authenticate(request, username=canonical_email(email), password=password)
    if user is None:
        raise AccountError("Wrong e-mail or password.")
    if not user.is_confirmed:
        raise AccountError("Confirm your e-mail address first: enter the code we sent you.")
    return user


def token_for(user: User) -> str:
    """The user's API token: a fresh one if it has none or its own has expired; the
    sliding expiry starts again now."""
    now = timezone.now()
    Token.objects.filter(user=user, created__lte=now - token_ttl()).delete()
    token, created = Token.objects.get_or_create(user=user)
    if not created:
        Token.objects.filter(pk=token.pk).update(created=now)
    return token.key


def _new_token(user: User) -> str:
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user).key


def issue_token(*, email: str, password: str) -> str:
    """The API token of a confirmed user whose password matches."""
    return token_for(authenticate_confirmed(email=email, password=password))


def sign_in(*, request, email: str, password: str) -> User:
    """Start a browser session (the web pages call the API with session + CSRF)."""
    user = authenticate_confirmed(email=email, password=password, request=request)
    login(request, user)
    return user


def sign_out(*, request) -> None:
    """End this session, and revoke the token the request was made with."""
    if isinstance(request.auth, Token):
        Token.objects.filter(pk=request.auth.pk).delete()
    logout(request)


def revoke_everywhere(user: User) -> None:
    """Every API token and browser session of the account stops working."""
    with transaction.atomic():
        Token.objects.filter(user=user).delete()
        user.rotate_session_stamp()
        user.save(update_fields=["session_stamp"])


def clear_attempt_limits(user: User) -> None:
    """Forget the account's counted sign-in and code guesses (an operator helping a person
    who locked themselves out). Per-address limits stay."""
    for key in (
        attempt_key("auth_email", user.email),
        _attempts_key(Purpose.CONFIRM, user.email),
        _attempts_key(Purpose.RESET, user.email),
        _code_mails_key(user.email),
    ):
        forget_attempts(key)
    forget_attempts_starting(from_client_key_prefix(user.email))


def sign_out_everywhere(*, request) -> None:
    revoke_everywhere(request.user)
    logout(request)


# --- password reset and change --------------------------------------------------------


def request_password_reset(*, email: str) -> None:
    """E-mail a reset code and link if an active account has this address, even while its
    codes are locked (the link is the way out). Whatever the address, the caller learns
    nothing: same answer, and no faster or slower."""
    email = canonical_email(email)
    _count_code_request(email)
    with _no_faster_than(settings.ACCOUNT_ANSWER_FLOOR_SECONDS):
        user = User.objects.filter(email=email, is_active=True).first()
        if user is None:
            _hash_code(_new_code())
            return
        with transaction.atomic():
            issued = _issue_code(user, Purpose.RESET)
        _mail_code(user, Purpose.RESET, issued)


def reset_password(*, email: str, new_password: str, code: str = "", token: str = "") -> User:
    """Set a new password with a reset code, or the e-mailed link's token. Every token and
    session of the account ends; the address is confirmed (the code reached it)."""
    email = canonical_email(email)
    candidate = User.objects.filter(email=email).first() or User(email=email)
    _validate_new_password(new_password, candidate, field="new_password")
    pending = _check_code_or_link(purpose=Purpose.RESET, email=email, code=code, token=token)
    user = pending.user
    with transaction.atomic():
        _take(pending, by_link=bool(token))
        user.set_password(new_password)
        if user.email_confirmed_at is None:
            user.email_confirmed_at = timezone.now()
        user.rotate_session_stamp()
        user.save(update_fields=["password", "email_confirmed_at", "session_stamp"])
        Token.objects.filter(user=user).delete()
        ConfirmationCode.objects.filter(user=user).delete()
    return user


def change_password(*, request, user: User, current_password: str, new_password: str) -> str:
    """Change the password; every other token and session ends, and a pending reset link or
    code. Returns the new token; the session this request came with (if any) stays signed in."""
    if not user.check_password(current_password):
        raise _field_error("current_password", ["That is not your current password."])
    _validate_new_password(new_password, user, field="new_password")
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        # A reset link or code asked for before is for the password that was: it ends.
        ConfirmationCode.objects.filter(user=user, purpose=Purpose.RESET).delete()
        key = _new_token(user)
    if request.session.get(SESSION_KEY):
        update_session_auth_hash(request, user)
    return key


# --- closing an account ---------------------------------------------------------------


def delete_account(*, request, user: User, password: str) -> None:
    """Close the account: personal data erased, the row kept (anonymised, inactive) so the
    rides and payments that point to it stay for accounting. Refused while a ride is active
    (the rides app's receiver of `account_closing` says so)."""
    if user.is_staff or user.is_superuser:
        raise AccountForbidden("Staff accounts are closed by an administrator.")
    if not user.check_password(password):
        raise _field_error("password", ["That is not your password."])
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        account_closing.send(sender=User, user=user)
        email = user.email
        user.email = f"deleted-{user.pk}@deleted.invalid"
        user.full_name = ""
        user.set_unusable_password()
        user.is_active = False
        user.email_confirmed_at = None
        user.last_login = None
        user.rotate_session_stamp()
        user.save()
        user.groups.clear()
        user.user_permissions.clear()
        Token.objects.filter(user=user).delete()
        ConfirmationCode.objects.filter(user=user).delete()
        idempotency.erase_person(user_id=user.pk)  # answers kept for retries
        account_closed.send(sender=User, user=user, email=email)
    logout(request)


# --- service keys ---------------------------------------------------------------------


def check_service_key_grant(*, creator, organization, scopes) -> None:
    """Who may mint which key: a superuser (or the command line, `creator` None) any;
    other staff only keys with payment scopes, acting for an organization they act for.
    The admin's form asks this before saving; ValidationError per field."""
    if creator is None or creator.is_superuser:
        return
    errors = {}
    if organization is None:
        errors["organization"] = ["Choose the organization the key acts for."]
    elif not acts_for(creator, organization.pk):
        errors["organization"] = ["You do not act for that organization."]
    if set(scopes or []) - PAYMENT_SCOPES:
        errors["scopes"] = ["You may give a key payment scopes only."]
    if errors:
        raise DjangoValidationError(errors)


@transaction.atomic
def issue_service_key(key: ServiceKey, *, creator=None) -> str:
    """Store a new key (its hash only) once `creator` may mint it and it is consistent
    (payment scopes need an organization); returns the key itself, to be shown once."""
    check_service_key_grant(creator=creator, organization=key.organization, scopes=key.scopes)
    key.scopes = sorted(set(key.scopes or []))
    # Every field as the admin's form checks it (a service name of 81 characters, or none,
    # from the command line), then clean(); the key's own columns are not made yet.
    key.full_clean(exclude=["id", "prefix", "hashed_key"], validate_unique=False)
    key.created_by = creator
    plain = ServiceKey.objects.assign_key(key)
    key.save()
    return plain
