"""The service-key admin form: scopes as checkboxes (the model stores them as a JSON list)."""

from django import forms

from accounts.models import Scope, ServiceKey


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
