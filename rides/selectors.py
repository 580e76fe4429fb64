"""Reads of the fleet and rides."""

from django.db.models import QuerySet

from core.exceptions import NotFound
from core.geo import bounding_box, haversine_km
from rides.models import Ride, Unicorn


def free_unicorns_near(*, latitude: float, longitude: float, radius_km: float):
    """Free, on-duty unicorns within `radius_km`, nearest first, as (unicorn, km) pairs.

    The bounding box uses the dispatch index; exact distances are computed on the few
    rows it lets through.
    """
    min_lat, max_lat, min_lon, max_lon = bounding_box(latitude, longitude, radius_km)
    boxed = Unicorn.objects.filter(
        on_duty=True,
        is_available=True,
        latitude__range=(min_lat, max_lat),
        longitude__range=(min_lon, max_lon),
    ).only("id", "name", "color", "gender", "latitude", "longitude")
    with_distance = (
        (unicorn, haversine_km(latitude, longitude, unicorn.latitude, unicorn.longitude))
        for unicorn in boxed
    )
    return sorted(((u, km) for u, km in with_distance if km <= radius_km), key=lambda pair: pair[1])


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


def unicorn_name_for_ride(ride_id) -> str | None:
    return Ride.objects.filter(pk=ride_id).values_list("unicorn__name", flat=True).first()


def ride_by_id(ride_id) -> Ride | None:
    return Ride.objects.filter(pk=ride_id).first()
