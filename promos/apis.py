from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from accounts.authentication import ServiceKeyAuthentication
from accounts.permissions import IsServiceOrStaff, is_service
from promos import services
from promos.serializers import DiscountRequestSerializer, DiscountSerializer


class DiscountDrawThrottle(SimpleRateThrottle):
    """Per service key (or staff member): an open-ended draw endpoint invites abuse."""

    scope = "promo_draws"

    def get_cache_key(self, request, view):
        who = f"key:{request.auth.prefix}" if is_service(request) else f"user:{request.user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": who}


class DiscountDrawApi(APIView):
    authentication_classes = [
        ServiceKeyAuthentication,
        *api_settings.DEFAULT_AUTHENTICATION_CLASSES,
    ]
    permission_classes = [IsServiceOrStaff]
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
        )
        body = {
            "id": award.pk,
            "discount_multiplier": f"{award.multiplier:.2f}",
            "campaign": award.campaign.name if award.campaign else None,
            "label": award.label,
        }
        return Response(body, status=status.HTTP_201_CREATED)
