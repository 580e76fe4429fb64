"""Reads of the fleet and rides."""

from django.db.models import QuerySet

from core.exceptions import NotFound
from rides.models import Ride


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


def has_active_ride(rider) -> bool:
    """Whether the rider has a ride assigned, arrived or in progress (accounts asks this
    before closing an account)."""
    return Ride.objects.filter(
        rider=rider, status__in=("assigned", "arrived", "in_progress")
    ).exists()
