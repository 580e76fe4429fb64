"""The rider's account self-service pages: password reset, and the account page (password
change, sign out everywhere, close the account). Markup only: the page scripts call the
accounts API (accounts/apis.py)."""

from django.contrib.auth.password_validation import password_validators_help_texts
from django.shortcuts import render
from django.urls import path

from frontend.views import _password_min_length, page, rider_page


def _password_rules() -> dict:
    """The new-password field's hint: the validators' rules, listed as on the sign-up page."""
    return {
        "password_rules": password_validators_help_texts(),
        "password_min_length": _password_min_length(),
    }


@rider_page
def account(request):
    return render(request, "frontend/account.html", _password_rules())


@page
def reset_password(request):
    return render(
        request,
        "frontend/reset_password.html",
        {"email": request.GET.get("email", ""), **_password_rules()},
    )


urlpatterns = [
    path("account/", account, name="account"),
    path("reset-password/", reset_password, name="reset-password"),
]
