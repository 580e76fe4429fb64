"""The admin's forms: the service key's (scopes as checkboxes; the model stores them as a
JSON list), and the admin site's sign-in."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm, AdminPasswordChangeForm

from accounts.models import Scope, ServiceKey
from accounts.throttles import count_sign_in


class ServiceKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="What the key may do. Payment scopes need an organization; the promo "
        "service's key gets promos:draw only.",
    )

    class Meta:
        model = ServiceKey
        fields = ["name", "service", "organization", "scopes", "expiry_date", "revoked"]


def scopes_display(key: ServiceKey) -> str:
    return ", ".join(key.scopes or []) or "none"


def _too_many_tries(wait: int) -> forms.ValidationError:
    unit = "second" if wait == 1 else "seconds"
    return forms.ValidationError(
        f"Too many tries in a short time. Try again in {wait} {unit}.", code="throttled"
    )


class AdminSignInForm(AdminAuthenticationForm):
    """The admin's sign-in page, in the same limits as the API's sign-in: each try counts
    per client address and per e-mail (`accounts.throttles.count_sign_in`), and once either
    is spent the password is not even checked. Without it, this page let anyone guess a staff
    member's password as fast as the server hashes them."""

    retry_after: int | None = None

    def clean(self):
        wait = count_sign_in(self.request, self.data.get("username"))
        if wait is not None:
            self.retry_after = wait
            raise _too_many_tries(wait)
        return super().clean()


def own_password_change_form(request) -> type[AdminPasswordChangeForm]:
    """The admin's "change my password" form for this request: the current password is
    checked in the same limits as the API's password change (per client address and per
    account, `count_sign_in`), so a stolen session cannot try passwords there at will."""

    class OwnPasswordChangeForm(AdminPasswordChangeForm):
        retry_after: int | None = None

        def clean_old_password(self):
            wait = count_sign_in(request, self.user.email)
            if wait is not None:
                self.retry_after = wait
                raise _too_many_tries(wait)
            return super().clean_old_password()

    return OwnPasswordChangeForm
