from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_protect, ensure_csrf_cookie
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import serializers, services
from accounts.throttles import AUTH_THROTTLES


class _PublicApi(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = AUTH_THROTTLES

    def valid_data(self, serializer_class, request) -> dict:
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class RegisterApi(_PublicApi):
    @extend_schema(
        request=serializers.RegisterSerializer, responses={201: serializers.RegisteredSerializer}
    )
    def post(self, request):
        data = self.valid_data(serializers.RegisterSerializer, request)
        user = services.register_rider(**data)
        body = {"email": user.email, "detail": "We e-mailed you a 6-digit code to confirm."}
        return Response(body, status=status.HTTP_201_CREATED)


class ConfirmApi(_PublicApi):
    @extend_schema(
        request=serializers.ConfirmSerializer, responses={200: serializers.DetailSerializer}
    )
    def post(self, request):
        data = self.valid_data(serializers.ConfirmSerializer, request)
        services.confirm_email(email=data["email"], code=data["code"])
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


@method_decorator(csrf_protect, name="post")
class SessionLogoutApi(_PublicApi):
    @extend_schema(request=None, responses={200: serializers.DetailSerializer})
    def post(self, request):
        services.sign_out(request=request)
        return Response({"detail": "You are signed out."})


@method_decorator(ensure_csrf_cookie, name="get")
class MeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=serializers.MeSerializer)
    def get(self, request):
        return Response(_me(request.user))
