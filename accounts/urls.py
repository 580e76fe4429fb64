from django.urls import path

from accounts import apis

urlpatterns = [
    path("register/", apis.RegisterApi.as_view(), name="auth-register"),
    path("confirm/", apis.ConfirmApi.as_view(), name="auth-confirm"),
    path("resend-code/", apis.ResendCodeApi.as_view(), name="auth-resend-code"),
    path("token/", apis.TokenApi.as_view(), name="auth-token"),
    path("login/", apis.SessionLoginApi.as_view(), name="auth-login"),
    path("logout/", apis.SessionLogoutApi.as_view(), name="auth-logout"),
    path("me/", apis.MeApi.as_view(), name="auth-me"),
]
