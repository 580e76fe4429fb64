from django.urls import path

from accounts import apis

urlpatterns = [
    path("register/", apis.RegisterApi.as_view(), name="auth-register"),
    path("confirm/", apis.ConfirmApi.as_view(), name="auth-confirm"),
    path("resend-code/", apis.ResendCodeApi.as_view(), name="auth-resend-code"),
    path("token/", apis.TokenApi.as_view(), name="auth-token"),
    path("login/", apis.SessionLoginApi.as_view(), name="auth-login"),
    path("logout/", apis.SessionLogoutApi.as_view(), name="auth-logout"),
    path("logout-everywhere/", apis.SignOutEverywhereApi.as_view(), name="auth-logout-everywhere"),
    path("password/reset/", apis.PasswordResetApi.as_view(), name="auth-password-reset"),
    path(
        "password/reset/confirm/",
        apis.PasswordResetConfirmApi.as_view(),
        name="auth-password-reset-confirm",
    ),
    path("password/change/", apis.PasswordChangeApi.as_view(), name="auth-password-change"),
    path("me/", apis.MeApi.as_view(), name="auth-me"),
]
