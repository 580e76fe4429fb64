from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.throttles import RideRequestsPerUser, UnicornApplicationsPerAddress
from core.filters import filter_by_status
from core.idempotency import SCHEMA_PARAMETER as IDEMPOTENCY_KEY
from core.idempotency import respond_once
from core.observability import timed, timing_marks
from payments.selectors import fare_payment_ids
from rides import fares, lifecycle, places, selectors, services
from rides.models import Ride
from rides.serializers import (
    EstimateQuerySerializer,
    FareEstimateSerializer,
    NearbyQuerySerializer,
    NearbyUnicornsSerializer,
    RideRequestSerializer,
    RideSerializer,
    UnicornApplicationReceiptSerializer,
    UnicornApplicationSerializer,
)


def _point(data):
    return services.Point(**data) if data else None


class RideListCreateApi(ListAPIView):
    serializer_class = RideSerializer
    throttle_classes = [RideRequestsPerUser]  # ride requests per rider (reads are free)

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
        # The page's active ride (a rider has one at most) is brought up to date first.
        page = [services.settle_ride(ride) for ride in page or []]
        # One query for the page's payments instead of one per ride.
        self.fare_payments = fare_payment_ids([ride.id for ride in page])
        return page

    def get_serializer_context(self):
        return {
            **super().get_serializer_context(),
            "fare_payments": getattr(self, "fare_payments", None),
        }

    @extend_schema(
        request=RideRequestSerializer,
        responses={201: RideSerializer},
        parameters=[IDEMPOTENCY_KEY],
    )
    def post(self, request):
        with timed("pickup"):
            serializer = RideRequestSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        def book(ride_id):
            ride = services.request_ride(
                rider=request.user,
                pickup=_point(data["pickup"]),
                dropoff=_point(data.get("dropoff")),
                ride_id=ride_id,
            )
            return Response(RideSerializer(ride).data, status=status.HTTP_201_CREATED)

        return respond_once(
            request=request,
            owner=f"user:{request.user.pk}",
            scope="rides.create",
            action=book,
            payload=data,  # the trip: a retry echoing the answer's `place` back is the same
        )


class RideDetailApi(APIView):
    @extend_schema(responses=RideSerializer)
    def get(self, request, ride_id):
        ride = selectors.ride_for(user=request.user, ride_id=ride_id)
        return Response(RideSerializer(services.settle_ride(ride)).data)


class _RideTransitionApi(APIView):
    transition = None

    @extend_schema(request=None, responses=RideSerializer)
    def post(self, request, ride_id):
        ride = selectors.ride_for(user=request.user, ride_id=ride_id)
        ride = self.transition(ride=ride, by=request.user)
        return Response(RideSerializer(ride).data)


class RideBoardApi(_RideTransitionApi):
    """The rider is on the unicorn that waits at the pickup: in_progress."""

    transition = staticmethod(services.board_ride)


class RideCancelApi(_RideTransitionApi):
    transition = staticmethod(services.cancel_ride)


class RideCompleteApi(_RideTransitionApi):
    transition = staticmethod(services.complete_ride)


def _estimate(pickup, dropoff) -> dict:
    services.check_trip(pickup, dropoff)
    distance = round(services.trip_km(pickup, dropoff), 2) if dropoff else None
    fare = fares.estimate_fare(pickup.as_tuple(), dropoff.as_tuple() if dropoff else None)
    km = selectors.nearest_free_unicorn_km(latitude=pickup.latitude, longitude=pickup.longitude)
    eta = lifecycle.wall_seconds_for(km) if km is not None else None
    return {
        "fare": fare.as_api(),
        "distance_km": distance,
        "eta_seconds": eta,
        "pickup_place": places.place_near(*pickup.as_tuple()),
        "dropoff_place": places.place_near(*dropoff.as_tuple()) if dropoff else None,
    }


class FareEstimateApi(APIView):
    """The fare before any discount, from the same rule that charges the ride, and how
    soon the nearest free unicorn could be there. Outside the service area, or a drop-off
    on the pickup: 400, as the request itself would be."""

    @extend_schema(parameters=[EstimateQuerySerializer], responses=FareEstimateSerializer)
    def get(self, request):
        query = EstimateQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        pickup = services.Point(data["pickup_latitude"], data["pickup_longitude"])
        dropoff = (
            services.Point(data["dropoff_latitude"], data["dropoff_longitude"])
            if "dropoff_latitude" in data
            else None
        )
        return Response(_estimate(pickup, dropoff))

    @extend_schema(request=RideRequestSerializer, responses=FareEstimateSerializer)
    def post(self, request):
        """The same, with the trip as the ride request's body."""
        serializer = RideRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        return Response(_estimate(_point(data["pickup"]), _point(data.get("dropoff"))))


NEARBY_RADIUS_KM = 5.0
NEARBY_LIMIT = 25


class NearbyUnicornsApi(APIView):
    """Free unicorns near a place (for the map before a request) and the service area.
    Names are data: pages must show them as text."""

    @extend_schema(parameters=[NearbyQuerySerializer], responses=NearbyUnicornsSerializer)
    def get(self, request):
        query = NearbyQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        near = selectors.free_unicorns_near(
            **query.validated_data, radius_km=NEARBY_RADIUS_KM, limit=NEARBY_LIMIT
        )
        area = settings.SERVICE_AREA
        return Response(
            {
                "service_area": {
                    "center": {"latitude": area["latitude"], "longitude": area["longitude"]},
                    "radius_km": area["radius_km"],
                },
                "results": [
                    {
                        "name": unicorn.name,
                        "color": unicorn.color,
                        "gender": unicorn.gender,
                        "position": {
                            "latitude": unicorn.latitude,
                            "longitude": unicorn.longitude,
                        },
                    }
                    for unicorn, _km in near
                ],
            }
        )


class UnicornApplicationApi(APIView):
    """A unicorn applies to join the fleet. Operators decide in the admin."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [UnicornApplicationsPerAddress]

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
