"""The framework's own floor for `POST /api/rides/`: a DRF view that does no ride work.

What any DRF endpoint of this project costs before it does any ride work: the project's
own WSGI application (same settings, middleware, token authentication, JSON parser and
renderer) with `api/rides/` routed to `FloorRideApi`, which validates the body with
`RideRequestSerializer`, as the real endpoint does, and then does only the minimal app's
work (bench/minimal_app.py): one INSERT of a `bench_ride`-shaped row, into its own table
`bench_floor_ride`, through `django.db.connection` in one transaction (`BEGIN IMMEDIATE`
behind the project's write lock on SQLite, as in the minimal app), answering 201 with a
small JSON ride. The rider's token is looked up as for any endpoint; there is no dispatch,
no discount, no model instance.

Its throughput over the minimal app's is the ceiling any DRF endpoint here can reach;
the Django endpoint's over this one is what the ride's own work costs.

    gunicorn --chdir bench drf_floor:application

Every other URL is the project's (`/api/health/` answers the readiness probe).
"""

import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from wildrydes.wsgi import application  # noqa: E402  (sets Django up: import it first)

# isort: split
from django.conf import settings  # noqa: E402
from django.db import connection, models, transaction  # noqa: E402
from django.urls import path  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework import status  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from rides.serializers import RideRequestSerializer  # noqa: E402
from wildrydes import urls as project_urls  # noqa: E402

INSERT = (
    "INSERT INTO bench_floor_ride (id, status, pickup_latitude, pickup_longitude,"
    " dropoff_latitude, dropoff_longitude, distance_to_pickup_m, eta_seconds,"
    " discount_multiplier, fare_minor, fare_currency, requested_at, rider_id, unicorn_id)"
    " VALUES (%s, 'assigned', %s, %s, NULL, NULL, 0, 60, '1.00', 1250, 'USD', %s, %s, 1)"
)

_UUID = models.UUIDField()  # converts the id as the ride's own key would be


class FloorRideApi(APIView):
    """Validate a ride request, insert one row, answer 201: the framework and nothing else."""

    def post(self, request):
        serializer = RideRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pickup = serializer.validated_data["pickup"]
        ride_id = uuid.uuid4()
        now = timezone.now()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                INSERT,
                [
                    _UUID.get_db_prep_value(ride_id, connection),
                    pickup["latitude"],
                    pickup["longitude"],
                    connection.ops.adapt_datetimefield_value(now),
                    request.user.pk,
                ],
            )
        body = {"id": ride_id, "status": "assigned", "pickup": pickup, "requested_at": now}
        return Response(body, status=status.HTTP_201_CREATED)


urlpatterns = [path("api/rides/", FloorRideApi.as_view()), *project_urls.urlpatterns]
handler404 = project_urls.handler404
handler500 = project_urls.handler500

settings.ROOT_URLCONF = __name__

__all__ = ["application"]
