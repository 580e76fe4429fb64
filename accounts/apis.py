from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_protect, ensure_csrf_cookie
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import serializers, services
from accounts.permissions import IsPerson
from accounts.throttles import ACCOUNT_THROTTLES, AUTH_THROTTLES


def _valid_data(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class _PublicApi(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = AUTH_THROTTLES

    def valid_data(self, serializer_class, request) -> dict:
        return _valid_data(serializer_class, request)


class _AccountApi(APIView):
    """A signed-in person acting on their own account (token, or session with CSRF)."""

    permission_classes = [IsPerson]
    throttle_classes = ACCOUNT_THROTTLES

    def valid_data(self, serializer_class, request) -> dict:
        return _valid_data(serializer_class, request)


EMAIL_SENT = "We e-mailed you a 6-digit code to confirm."
EMAIL_NOT_SENT = (
    "Your account is made, but we could not send the e-mail with your code just now. "
    "Ask for a new code in a minute."
)


class RegisterApi(_PublicApi):
    @extend_schema(
        request=serializers.RegisterSerializer, responses={201: serializers.RegisteredSerializer}
    )
    def post(self, request):
        data = self.valid_data(serializers.RegisterSerializer, request)
        registration = services.register_rider(**data)
        body = {
            "email": registration.user.email,
            "detail": EMAIL_SENT if registration.email_sent else EMAIL_NOT_SENT,
            "email_sent": registration.email_sent,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class ConfirmApi(_PublicApi):
    @extend_schema(
        request=serializers.ConfirmSerializer, responses={200: serializers.DetailSerializer}
    )
    def post(self, request):
        data = self.valid_data(serializers.ConfirmSerializer, request)
        services.confirm_email(**data)
        return Response({"detail": "Your e-mail is confirmed. You can sign in."})


class ResendCodeApi(_PublicApi):
    @extend_schema(
        request=serializers.ResendSerializer, responses={202: serializers.DetailSerializer}
    )
    def post(self, request):
        data = self.valid_data(serializers.ResendSerializer, request)
        services.resend_confirmation_code(email=data["email"])
        body = {"detail": "If that account waits for confirmation, a new code is on its way."}
        return Response(body, status=status.HTTP_202_ACCEPTED)


class TokenApi(_PublicApi):
    @extend_schema(
        request=serializers.TokenRequestSerializer, responses={200: serializers.TokenSerializer}
    )
    def post(self, request):
        data = self.valid_data(serializers.TokenRequestSerializer, request)
        return Response({"token": services.issue_token(**data)})


def _me(user) -> dict:
    return {"email": user.email, "full_name": user.full_name, "is_staff": user.is_staff}


@method_decorator(csrf_protect, name="post")
class SessionLoginApi(_PublicApi):
    """Sign in for the web pages: starts a session instead of returning a token."""

    @extend_schema(
        request=serializers.TokenRequestSerializer, responses={200: serializers.MeSerializer}
    )
    def post(self, request):
        data = self.valid_data(serializers.TokenRequestSerializer, request)
        user = services.sign_in(request=request, **data)
        return Response(_me(user))


class SessionLogoutApi(APIView):
    """Sign out: ends this browser session, or revokes the token the call was made with.

    CSRF is checked by DRF's session authentication for a signed-in session; a token
    client has no CSRF cookie to send, and an anonymous call changes nothing."""

    permission_classes = [AllowAny]

    @extend_schema(request=None, responses={200: serializers.DetailSerializer})
    def post(self, request):
        services.sign_out(request=request)
        return Response({"detail": "You are signed out."})


class SignOutEverywhereApi(_AccountApi):
    """Every token and browser session of the account stops working, this one included."""

    throttle_classes = []

    @extend_schema(request=None, responses={200: serializers.DetailSerializer})
    def post(self, request):
        services.sign_out_everywhere(request=request)
        return Response({"detail": "You are signed out everywhere."})


class PasswordResetApi(_PublicApi):
    @extend_schema(
        request=serializers.PasswordResetSerializer,
        responses={202: serializers.DetailSerializer},
    )
    def post(self, request):
        data = self.valid_data(serializers.PasswordResetSerializer, request)
        services.request_password_reset(email=data["email"])
        body = {
            "detail": "If an account has this e-mail, we sent it a 6-digit code to reset "
            "the password."
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmApi(_PublicApi):
    @extend_schema(
        request=serializers.PasswordResetConfirmSerializer,
        responses={200: serializers.DetailSerializer},
    )
    def post(self, request):
        data = self.valid_data(serializers.PasswordResetConfirmSerializer, request)
        services.reset_password(**data)
        return Response({"detail": "Your password is changed. Sign in with the new one."})


class PasswordChangeApi(_AccountApi):
    @extend_schema(
        request=serializers.PasswordChangeSerializer,
        responses={200: serializers.TokenDetailSerializer},
    )
    def post(self, request):
        data = self.valid_data(serializers.PasswordChangeSerializer, request)
        token = services.change_password(request=request, user=request.user, **data)
        body = {
            "token": token,
            "detail": "Your password is changed. You are signed out everywhere else.",
        }
        return Response(body)


@method_decorator(ensure_csrf_cookie, name="get")
class MeApi(_AccountApi):
    def get_throttles(self):
        return super().get_throttles() if self.request.method == "DELETE" else []

    @extend_schema(responses=serializers.MeSerializer)
    def get(self, request):
        return Response(_me(request.user))

    @extend_schema(request=serializers.AccountDeleteSerializer, responses={204: None})
    def delete(self, request):
        data = self.valid_data(serializers.AccountDeleteSerializer, request)
        services.delete_account(request=request, user=request.user, password=data["password"])
        return Response(status=status.HTTP_204_NO_CONTENT)
