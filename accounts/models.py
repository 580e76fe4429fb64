import re
import secrets
import unicodedata

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.encoding import punycode
from rest_framework_api_key.models import AbstractAPIKey


def canonical_email(raw: str) -> str:
    """The one form of an e-mail address that is stored, looked up and throttled on.

    NFKC (full-width letters, ligatures and combining sequences become their plain
    composed forms), then case folding until nothing changes. Folding goes through
    upper case as well, so the letters other case mappings treat as `i`, `s` or `k`
    (dotless i U+0131, long s U+017F, the Kelvin sign) land on the same address: whatever
    PostgreSQL's UPPER() or Python's case-insensitive regular expressions would match,
    this matches too, because the stored value is already folded and the database
    compares it exactly.

    The domain is then the one mail is delivered to (`_delivered_domain`): the characters
    IDNA drops (zero-width joiners, soft hyphens) are dropped, an ideographic full stop is
    a dot, and a punycode label (xn--...) is the Unicode it spells; a quoted local part
    that needs no quotes ("rider") is unquoted. Two spellings that reach one mailbox are
    one address, so one account and one limit.
    """
    text = (raw or "").strip()
    for _ in range(4):
        folded = _folded(text).strip()  # NFKC may bring a space to an end (U+00A8)
        local, at, domain = folded.rpartition("@")
        delivered = _delivered_domain(domain) if at else None
        if delivered is not None:
            folded = _folded(f"{_unquoted(local)}@{delivered}").strip()
        if folded == text:
            break
        text = folded
    return text


def _folded(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    for _ in range(4):
        folded = unicodedata.normalize("NFKC", text.casefold().upper().casefold())
        if folded == text:
            break
        text = folded
    return text


_QUOTED = re.compile(r'"(.*)"', re.DOTALL)
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)
_DOT_ATOM = re.compile(r"[-!#$%&'*+/=?^_`{}|~0-9a-z]+(\.[-!#$%&'*+/=?^_`{}|~0-9a-z]+)*", re.ASCII)


def _unquoted(local):
    """'"rider"' is the mailbox rider (RFC 5321: a quoted string that needs no quotes is
    the same local part), as the receiving server reads it."""
    quoted = _QUOTED.fullmatch(local)
    if quoted is None:
        return local
    plain = _ESCAPED.sub(r"\1", quoted.group(1))
    return plain if _DOT_ATOM.fullmatch(plain) else local


def _delivered_domain(domain: str) -> str | None:
    """The domain as Django's mail sends to it (IDNA, as django.core.mail's
    sanitize_address encodes it), back in Unicode; None when it cannot be encoded at all
    (a line separator, a direction override, an empty label, over 255 characters): no
    mail reaches it."""
    if len(domain) > 255:  # the most DNS holds; and IDNA's cost grows with the square
        return None
    try:
        encoded = domain.encode("idna")
    except UnicodeError:
        return None
    try:
        return encoded.decode("idna")
    except UnicodeError:  # an xn-- label that spells nothing: sent as written
        return domain


def is_deliverable(email: str) -> bool:
    """Whether mail can be sent to this address as it is written: its domain encodes, and it
    is a domain of the internet (a dot in it), not `localhost`, another one-label name or an
    address literal such as `[127.0.0.1]`, which our mail service would send nowhere."""
    _local, at, domain = (email or "").rpartition("@")
    return (
        bool(at)
        and "." in domain.strip(".")
        and not domain.startswith("[")
        and _delivered_domain(domain) is not None
    )


def mail_address(email: str) -> str:
    """The address as the mail service is given it: the domain in its ASCII form
    (anna@xn--bcher-kva.example), as Django's mail writes it in the To header; the kept,
    readable form (anna@bücher.example) stays in the text. Amazon SES takes 7-bit ASCII
    addresses only (no SMTPUTF8: a Unicode domain must come in Punycode), and django-ses
    hands it the recipients as they are given."""
    local, at, domain = (email or "").rpartition("@")
    if not at or domain.isascii():
        return email
    try:
        return f"{local}@{punycode(domain)}"
    except UnicodeError:  # no mail reaches it (is_deliverable): the service says so
        return email


_ACE_LABEL = re.compile(r"\bxn--[a-z0-9-]+", re.IGNORECASE | re.ASCII)


def readable_domains(text: str) -> str:
    """`text` (an address, a domain or part of one) with each xn-- label in the letters it
    spells: an address as a mail log or a bounce names it (anna@xn--bcher-kva.example) as
    accounts keep it (anna@bücher.example). A label that spells nothing stays as it is."""

    def spelled(label):
        try:
            return label.group(0).lower().encode("ascii").decode("idna")
        except UnicodeError:
            return label.group(0)

    return _ACE_LABEL.sub(spelled, text)


class UserManager(BaseUserManager):
    use_in_migrations = True

    @classmethod
    def normalize_email(cls, email):
        return canonical_email(email or "")

    def create_user(self, email, password=None, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=canonical_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True, email_confirmed_at=timezone.now())
        return self.create_user(email, password, **extra)

    def get_by_natural_key(self, email):
        return self.get(email=canonical_email(email or ""))


def _new_session_stamp() -> str:
    return secrets.token_hex(8)


class User(AbstractBaseUser, PermissionsMixin):
    """A person: rider, operator or finance. Identified by e-mail, no username.

    `email` always holds the canonical form (`canonical_email`), so the unique constraint
    and every lookup compare exactly; nothing matches case-insensitively.
    """

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(default=False, help_text="Can sign in to the admin.")
    is_active = models.BooleanField(default=True)
    email_confirmed_at = models.DateTimeField(null=True, blank=True)
    date_joined = models.DateTimeField(default=timezone.now)
    session_stamp = models.CharField(
        max_length=32,
        blank=True,
        editable=False,
        help_text="Changed to sign the account out of every browser session.",
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        ordering = ["email"]

    def __str__(self):
        return self.email

    @property
    def is_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    def clean(self):
        self.email = canonical_email(self.email)
        if self.email and not is_deliverable(self.email):
            raise ValidationError({"email": "No e-mail can be sent to this address."})
        taken = User.objects.filter(email=self.email).exclude(pk=self.pk)
        if self.email and taken.exists():
            raise ValidationError({"email": "An account with this e-mail already exists."})

    @classmethod
    def from_db(cls, db, field_names, values):
        user = super().from_db(db, field_names, values)
        user._loaded_email = user.__dict__.get("email")
        return user

    def save(self, *args, **kwargs):
        self.email = canonical_email(self.email)
        # set_password() was called on an existing account (the API, the admin's password
        # form, `changepassword`): its API tokens end with the old password. Sessions end
        # by themselves, their hash being made from the password.
        password_changed = self._password is not None and not self._state.adding
        # The address changed (an operator, in the admin): a code e-mailed to the old one
        # proves nothing about the new one.
        loaded_email = getattr(self, "_loaded_email", None)
        email_changed = loaded_email is not None and loaded_email != self.email
        super().save(*args, **kwargs)
        self._loaded_email = self.email
        if password_changed:
            from rest_framework.authtoken.models import Token

            Token.objects.filter(user=self).delete()
        if email_changed:
            self.codes.all().delete()

    def rotate_session_stamp(self) -> None:
        """Every browser session of this account stops working (saved by the caller)."""
        self.session_stamp = _new_session_stamp()

    def _get_session_auth_hash(self, secret=None):
        # Django's hash of the password, plus the stamp: a new stamp ends the sessions
        # without a password change. An empty stamp keeps the hash Django would compute.
        if not self.session_stamp:
            return super()._get_session_auth_hash(secret=secret)
        return salted_hmac(
            "accounts.User.get_session_auth_hash",
            f"{self.password}:{self.session_stamp}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()


class ConfirmationCode(models.Model):
    """A 6-digit code e-mailed to prove the address: at sign-up, or to reset the password.

    Only its hash is stored. Wrong guesses are not counted here but per purpose and
    e-mail address (`accounts.throttles.count_attempt`), so a new code brings no new tries.

    The same e-mail carries a link with a long secret (`link_hash`, its hash only): it has
    the code's expiry, dies with the code (used, or replaced by a newer e-mail), and works
    even when the address's wrong-code tries are used up, since it cannot be guessed.
    """

    class Purpose(models.TextChoices):
        CONFIRM = "confirm", "confirm the e-mail address"
        RESET = "reset", "reset the password"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="codes")
    purpose = models.CharField(max_length=16, choices=Purpose.choices, default=Purpose.CONFIRM)
    code_hash = models.CharField(max_length=64)
    link_hash = models.CharField(max_length=64, blank=True, default="")
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "purpose"], name="one_code_per_purpose")
        ]

    def __str__(self):
        return f"code to {self.get_purpose_display()} for {self.user}"


class AttemptCounter(models.Model):
    """How many attempts a key (a hashed e-mail or address, per purpose) made in its window.

    Counted with a row lock, so concurrent requests can't slip past the limit; the cache
    is not used because the database cache's increment reads and writes in two steps.
    """

    key = models.CharField(max_length=128, primary_key=True)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.key}: {self.count} since {self.window_start:%Y-%m-%d %H:%M:%S}"


class Scope(models.TextChoices):
    """What a service key may do."""

    PROMOS_DRAW = "promos:draw", "draw promo discounts"
    PAYMENTS_READ = "payments:read", "read the organization's payments"
    PAYMENTS_WRITE = "payments:write", "register, verify and delete the organization's payments"
    PAYMENT_LISTS_SUBMIT = "payment_lists:submit", "submit and follow payment lists"


PAYMENT_SCOPES = {Scope.PAYMENTS_READ, Scope.PAYMENTS_WRITE, Scope.PAYMENT_LISTS_SUBMIT}


class ServiceKey(AbstractAPIKey):
    """A key another service sends as `Authorization: Api-Key <key>`.

    Only a SHA-512 hash is stored; the key is shown once, when an operator creates it in
    the admin. Revoking is final. `scopes` say what it may do; payment scopes need an
    organization (the key acts for it and sees nothing else).
    """

    service = models.CharField(
        max_length=80, help_text="Which service or partner uses this key, e.g. 'rides-prod'."
    )
    organization = models.ForeignKey(
        "organizations.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="service_keys",
        help_text="The organization this key acts for (payments, payment lists).",
    )
    scopes = models.JSONField(
        default=list,
        blank=True,
        help_text="What the key may do. Payment scopes need an organization.",
    )
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "service key"
        verbose_name_plural = "service keys"

    def clean(self):
        super().clean()
        unknown = set(self.scopes or []) - set(Scope.values)
        if unknown:
            raise ValidationError({"scopes": f"Unknown scopes: {', '.join(sorted(unknown))}."})
        if self.organization_id is None and PAYMENT_SCOPES & set(self.scopes or []):
            raise ValidationError(
                {"organization": "A key with payment scopes must act for an organization."}
            )

    def has_scope(self, scope: str) -> bool:
        if scope in PAYMENT_SCOPES and self.organization_id is None:
            return False
        return scope in (self.scopes or [])
