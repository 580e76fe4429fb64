"""Reads of the fleet and rides."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.exceptions import NotFound
from core.geo import bounding_box, haversine_km
from rides import lifecycle
from rides.models import Ride, Unicorn


def rides_of(rider) -> QuerySet[Ride]:
    return Ride.objects.filter(rider=rider).select_related("unicorn", "rider")


def can_manage_any_ride(user) -> bool:
    return user.is_staff and user.has_perm("rides.change_ride")


def ride_for(*, user, ride_id) -> Ride:
    """The ride if `user` may see it: its rider, or an operator. Anyone else: not found."""
    rides = Ride.objects.select_related("unicorn", "rider")
    if not can_manage_any_ride(user):
        rides = rides.filter(rider=user)
    ride = rides.filter(pk=ride_id).first()
    if ride is None:
        raise NotFound("No such ride.")
    return ride


def unicorn_names_for_rides(ride_ids) -> dict:
    """Ride id (as given) -> the name of its unicorn, for the rides that exist: one query."""
    given = {str(ride_id): ride_id for ride_id in ride_ids}
    found = Ride.objects.filter(pk__in=list(given.values())).values_list("pk", "unicorn__name")
    return {given[str(pk)]: name for pk, name in found}


def free_unicorns_near(*, latitude: float, longitude: float, radius_km: float, limit: int):
    """Free on-duty unicorns within `radius_km`, nearest first, with their distance in km:
    [(unicorn, km)]. A bounding box on the dispatch index, then exact distances."""
    min_lat, max_lat, min_lon, max_lon = bounding_box(latitude, longitude, radius_km)
    candidates = Unicorn.objects.filter(
        on_duty=True,
        is_available=True,
        latitude__range=(min_lat, max_lat),
        longitude__range=(min_lon, max_lon),
    ).only("name", "color", "gender", "latitude", "longitude")[:_NEARBY_CANDIDATES]
    near = [
        (unicorn, haversine_km(latitude, longitude, unicorn.latitude, unicorn.longitude))
        for unicorn in candidates
    ]
    near = sorted((pair for pair in near if pair[1] <= radius_km), key=lambda pair: pair[1])
    return near[:limit]


_NEARBY_CANDIDATES = 500


def nearest_free_unicorn_km(*, latitude: float, longitude: float) -> float | None:
    """How far the nearest free unicorn is (what dispatch would send), or None."""
    for radius in (2.0, 10.0, settings.DISPATCH_MAX_RADIUS_KM):
        near = free_unicorns_near(latitude=latitude, longitude=longitude, radius_km=radius, limit=1)
        if near:
            return near[0][1]
    return None


def rides_needing_attention(*, now=None) -> QuerySet[Ride]:
    """For operators: rides waiting long at the pickup (more than half the boarding window
    gone), rides stuck (assigned well past their arrival, or on board for longer than
    STUCK_RIDE_HOURS) and rides that expired in the last day."""
    now = now or timezone.now()
    window = lifecycle.boarding_window()
    return Ride.objects.filter(
        Q(status=Ride.Status.ARRIVED, arrives_at__lte=now - window / 2)
        | Q(status=Ride.Status.ASSIGNED, arrives_at__lte=now - timedelta(minutes=5))
        | Q(status=Ride.Status.IN_PROGRESS, boarded_at__lte=now - timedelta(hours=STUCK_RIDE_HOURS))
        | Q(status=Ride.Status.EXPIRED, expired_at__gte=now - timedelta(days=1))
    )


STUCK_RIDE_HOURS = 3
