from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts.authentication import ServiceKeyAuthentication
from accounts.models import Scope
from accounts.permissions import IsServiceOnly, IsServiceOrStaff
from accounts.throttles import WritesPerCaller
from promos import services
from promos.serializers import (
    DiscountRequestSerializer,
    DiscountSerializer,
    ReleaseRequestSerializer,
    ReleaseSerializer,
)


class DiscountDrawThrottle(WritesPerCaller):
    """Per service key (or staff member): an open-ended draw endpoint invites abuse.
    Counted atomically (accounts.throttles), not with DRF's read-then-write cache history,
    through which concurrent draws could slip past the limit."""

    scope = "promo_draws"


class DiscountDrawApi(APIView):
    authentication_classes = [
        ServiceKeyAuthentication,
        *api_settings.DEFAULT_AUTHENTICATION_CLASSES,
    ]
    permission_classes = [IsServiceOrStaff]
    required_scopes = {"POST": Scope.PROMOS_DRAW}  # a service key needs this scope
    throttle_classes = [DiscountDrawThrottle]

    @extend_schema(request=DiscountRequestSerializer, responses={201: DiscountSerializer})
    def post(self, request):
        serializer = DiscountRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        fare = data.get("fare")
        award = services.draw_discount(
            username=data["username"],
            latitude=data["latitude"],
            longitude=data["longitude"],
            ride_id=data.get("ride_id"),
            fare_minor=int(fare["amount"] * 100) if fare else None,
            currency=fare["currency"] if fare else None,
        )
        body = {
            "id": award.pk,
            "discount_multiplier": f"{award.multiplier:.2f}",
            "campaign": award.campaign.name if award.campaign else None,
            "label": award.label,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class DiscountReleaseApi(APIView):
    """The caller did not book the ride: its awards go back to the budget (idempotent).

    Only the ride service's key: only it knows the ride was not booked. Staff may draw (the
    contract) but not release, which would hand a booked ride's discount back to the
    budget while the ride keeps it, and let the campaign spend it twice."""

    authentication_classes = DiscountDrawApi.authentication_classes
    permission_classes = [IsServiceOnly]
    required_scopes = {"POST": Scope.PROMOS_DRAW}  # the same key as the draw's
    throttle_classes = [DiscountDrawThrottle]

    @extend_schema(request=ReleaseRequestSerializer, responses={200: ReleaseSerializer})
    def post(self, request):
        serializer = ReleaseRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ride_id = serializer.validated_data["ride_id"]
        released = services.release_ride_awards(ride_id=ride_id)
        return Response({"ride_id": str(ride_id), "released": released})
