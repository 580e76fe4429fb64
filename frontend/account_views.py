"""The rider's account self-service pages: password reset, and the account page (password
change, sign out everywhere, close the account). Markup only: the page scripts call the
accounts API (accounts/apis.py)."""

from django.contrib.auth.password_validation import password_validators_help_texts
from django.shortcuts import render
from django.urls import path

from frontend.views import page, rider_page


def _password_hint() -> str:
    return " ".join(password_validators_help_texts())


@rider_page
def account(request):
    return render(request, "frontend/account.html", {"password_hint": _password_hint()})


@page
def reset_password(request):
    return render(
        request,
        "frontend/reset_password.html",
        {"email": request.GET.get("email", ""), "password_hint": _password_hint()},
    )


urlpatterns = [
    path("account/", account, name="account"),
    path("reset-password/", reset_password, name="reset-password"),
]
