from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.filters import filter_by_status
from core.geo import haversine_km
from core.idempotency import HEADER as IDEMPOTENCY_HEADER
from core.idempotency import respond_once
from core.observability import timed, timing_marks
from payments.selectors import fare_payment_ids
from rides import fares, selectors, services
from rides.models import Ride
from rides.serializers import (
    FareEstimateSerializer,
    RideRequestSerializer,
    RideSerializer,
    UnicornApplicationReceiptSerializer,
    UnicornApplicationSerializer,
)

_IDEMPOTENCY_PARAM = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Send the same key again to get the first answer instead of a second ride.",
)


def _point(data):
    return services.Point(**data) if data else None


class RideListCreateApi(ListAPIView):
    serializer_class = RideSerializer

    def dispatch(self, request, *args, **kwargs):
        if request.method != "POST":
            return super().dispatch(request, *args, **kwargs)
        with timing_marks("ride request"):
            return super().dispatch(request, *args, **kwargs)

    def perform_authentication(self, request):
        with timed("rider"):
            super().perform_authentication(request)

    def get_queryset(self):
        rides = selectors.rides_of(self.request.user)
        return filter_by_status(rides, self.request, Ride.Status.values)

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        # One query for the page's fare payments instead of one per ride.
        self.fare_payments = fare_payment_ids([ride.id for ride in page or []])
        return page

    def get_serializer_context(self):
        return {
            **super().get_serializer_context(),
            "fare_payments": getattr(self, "fare_payments", None),
        }

    @extend_schema(
        request=RideRequestSerializer,
        responses={201: RideSerializer},
        parameters=[_IDEMPOTENCY_PARAM],
    )
    def post(self, request):
        with timed("pickup"):
            serializer = RideRequestSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        def book():
            ride = services.request_ride(
                rider=request.user,
                pickup=_point(data["pickup"]),
                dropoff=_point(data.get("dropoff")),
            )
            return Response(RideSerializer(ride).data, status=status.HTTP_201_CREATED)

        return respond_once(
            request=request, owner=f"user:{request.user.pk}", scope="rides.create", action=book
        )


class RideDetailApi(APIView):
    @extend_schema(responses=RideSerializer)
    def get(self, request, ride_id):
        ride = selectors.ride_for(user=request.user, ride_id=ride_id)
        return Response(RideSerializer(ride).data)


class _RideTransitionApi(APIView):
    transition = None

    @extend_schema(request=None, responses=RideSerializer)
    def post(self, request, ride_id):
        ride = selectors.ride_for(user=request.user, ride_id=ride_id)
        ride = self.transition(ride=ride, by=request.user)
        return Response(RideSerializer(ride).data)


class RideCancelApi(_RideTransitionApi):
    transition = staticmethod(services.cancel_ride)


class RideCompleteApi(_RideTransitionApi):
    transition = staticmethod(services.complete_ride)


class FareEstimateApi(APIView):
    """The fare before any discount, from the same rule that charges the ride."""

    @extend_schema(request=RideRequestSerializer, responses=FareEstimateSerializer)
    def post(self, request):
        serializer = RideRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pickup = _point(serializer.validated_data["pickup"]).as_tuple()
        dropoff = _point(serializer.validated_data.get("dropoff"))
        dropoff = dropoff.as_tuple() if dropoff else None
        distance = round(haversine_km(*pickup, *dropoff), 2) if dropoff else None
        fare = fares.estimate_fare(pickup, dropoff)
        return Response({"fare": fare.as_api(), "distance_km": distance})


class UnicornApplicationApi(APIView):
    """A unicorn applies to join the fleet. Operators decide in the admin."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=UnicornApplicationSerializer,
        responses={201: UnicornApplicationReceiptSerializer},
    )
    def post(self, request):
        serializer = UnicornApplicationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        application = services.submit_unicorn_application(**serializer.validated_data)
        body = {
            "id": application.pk,
            "status": application.status,
            "detail": "Thank you! Our stable masters will read your application soon.",
        }
        return Response(body, status=status.HTTP_201_CREATED)
