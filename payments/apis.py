from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts.authentication import ServiceKeyAuthentication
from accounts.models import Scope
from accounts.permissions import ModelPermissionOrService, service_key_of
from accounts.throttles import PaymentsPerCaller
from core.filters import filter_by_status
from core.idempotency import SCHEMA_PARAMETER as IDEMPOTENCY_KEY
from core.idempotency import respond_once
from payments import selectors, services
from payments.models import Payment
from payments.serializers import (
    PaymentCreateSerializer,
    PaymentSerializer,
    RiderPaymentSerializer,
)


class _PaymentApi(APIView):
    authentication_classes = [
        ServiceKeyAuthentication,
        *api_settings.DEFAULT_AUTHENTICATION_CLASSES,
    ]
    permission_classes = [ModelPermissionOrService]
    required_permissions = {
        "POST": "payments.add_payment",
        "DELETE": "payments.delete_payment",
    }
    # What a service key needs (accounts.permissions); payment scopes need an organization.
    required_scopes = {
        "GET": Scope.PAYMENTS_READ,
        "POST": Scope.PAYMENTS_WRITE,
        "DELETE": Scope.PAYMENTS_WRITE,
    }


def _payment(request, payment_id) -> Payment:
    return selectors.payment_for(
        user=request.user, service_key=service_key_of(request), payment_id=payment_id
    )


def _serializer_class(request):
    """Finance staff and services see who handled a payment; riders their own without."""
    staff = selectors.sees_who_handled_payments(
        user=request.user, service_key=service_key_of(request)
    )
    return PaymentSerializer if staff else RiderPaymentSerializer


def _owner(request) -> str:
    key = service_key_of(request)
    return f"service:{key.prefix}" if key else f"user:{request.user.pk}"


def _once_per_payment(request, payment: Payment, what: str, action) -> Response:
    """Verify or delete `payment` once per Idempotency-Key: a retry whose first answer was
    lost (a timeout, a dropped connection) gets that answer again, not a 409 for the change
    it made itself. The key is this payment's: the same key on another payment is another
    request."""
    scope = f"payments.{what}:{payment.pk}"
    return respond_once(request=request, owner=_owner(request), scope=scope, action=action)


class PaymentListCreateApi(_PaymentApi, ListAPIView):
    serializer_class = PaymentSerializer  # the schema's; a rider's answer: _serializer_class
    throttle_classes = [PaymentsPerCaller]  # registrations per user or key (reads are free)

    def get_serializer_class(self):
        if getattr(self, "swagger_fake_view", False):  # the schema documents finance's
            return PaymentSerializer
        return _serializer_class(self.request)

    def get_queryset(self):
        payments = selectors.payments_visible_to(
            user=self.request.user, service_key=service_key_of(self.request)
        )
        return filter_by_status(payments, self.request, Payment.Status.values)

    @extend_schema(parameters=[OpenApiParameter("status", enum=Payment.Status.values)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=PaymentCreateSerializer,
        responses={201: PaymentSerializer},
        parameters=[IDEMPOTENCY_KEY],
    )
    def post(self, request):
        serializer = PaymentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        def register(payment_id):
            payment = services.register_requested_payment(
                payment_id=payment_id,
                amount_minor=data["amount"],
                currency=data["currency"],
                reference=data["reference"],
                ride_id=data.get("ride"),
                payer_email=data.get("payer_email", ""),
                organization=data.get("organization"),
                actor=request.user,
                service_key=service_key_of(request),
            )
            return Response(PaymentSerializer(payment).data, status=status.HTTP_201_CREATED)

        return respond_once(
            request=request, owner=_owner(request), scope="payments.create", action=register
        )


class PaymentDetailApi(_PaymentApi):
    @extend_schema(responses=PaymentSerializer)
    def get(self, request, payment_id):
        payment = _payment(request, payment_id)
        return Response(_serializer_class(request)(payment).data)

    @extend_schema(responses={204: None}, parameters=[IDEMPOTENCY_KEY])
    def delete(self, request, payment_id):
        payment = _payment(request, payment_id)

        def delete(_):
            services.delete_payment(payment=payment, actor=request.user)
            return Response(status=status.HTTP_204_NO_CONTENT)

        return _once_per_payment(request, payment, "delete", delete)


class PaymentVerifyApi(_PaymentApi):
    required_permissions = {"POST": "payments.change_payment"}

    @extend_schema(request=None, responses=PaymentSerializer, parameters=[IDEMPOTENCY_KEY])
    def post(self, request, payment_id):
        payment = _payment(request, payment_id)

        def verify(_):
            verified = services.verify_payment(payment=payment, actor=request.user)
            return Response(PaymentSerializer(verified).data)

        return _once_per_payment(request, payment, "verify", verify)
