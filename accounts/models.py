from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone
from rest_framework_api_key.models import AbstractAPIKey


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True, email_confirmed_at=timezone.now())
        return self.create_user(email, password, **extra)

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)


class User(AbstractBaseUser, PermissionsMixin):
    """A person: rider, operator or finance. Identified by e-mail, no username."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(default=False, help_text="Can sign in to the admin.")
    is_active = models.BooleanField(default=True)
    email_confirmed_at = models.DateTimeField(null=True, blank=True)
    date_joined = models.DateTimeField(default=timezone.now)

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


class ConfirmationCode(models.Model):
    """The 6-digit code e-mailed at sign-up. Only its hash is stored."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="confirmation")
    code_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"code for {self.user}"


class ServiceKey(AbstractAPIKey):
    """A key another service sends as `Authorization: Api-Key <key>`.

    Only a SHA-512 hash is stored; the key is shown once, when an operator creates it in
    the admin. Revoking is final.
    """

    service = models.CharField(
        max_length=80, help_text="Which service or partner uses this key, e.g. 'rides-prod'."
    )
    organization = models.ForeignKey(
        "payments.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="service_keys",
        help_text="The organization this key acts for (payments, payment lists).",
    )
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "service key"
        verbose_name_plural = "service keys"
