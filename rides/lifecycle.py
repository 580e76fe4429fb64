"""The ride's clock: where the unicorn is and what is due, worked out from time alone.

Pure functions of a ride and a moment (no database): the API answer, the lazy transitions
in rides.services and the admin all read the same clock. RIDE_TIME_SCALE speeds it up
(60: a minute of travel, boarding or waiting passes in a second).
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from core.geo import haversine_km


def scaled(seconds: float) -> timedelta:
    """`seconds` of the ride's clock, in wall-clock time."""
    return timedelta(seconds=seconds / settings.RIDE_TIME_SCALE)


def travel_seconds(distance_km: float) -> int:
    """Seconds (the ride's clock) a unicorn needs for `distance_km` at UNICORN_SPEED_KMH."""
    return max(1, round(distance_km / settings.UNICORN_SPEED_KMH * 3600))


def wall_seconds_for(distance_km: float) -> int:
    """What a rider waits, in real seconds, for a unicorn `distance_km` away."""
    return max(1, math.ceil(scaled(travel_seconds(distance_km)).total_seconds()))


def boarding_window() -> timedelta:
    return scaled(settings.RIDE_BOARDING_MINUTES * 60)


def boarding_deadline(ride) -> datetime | None:
    """When a rider who has not boarded becomes a no-show."""
    return ride.arrives_at + boarding_window() if ride.arrives_at else None


def departed_at(ride) -> datetime:
    """When the unicorn set off for the pickup (its travel ends at `arrives_at`)."""
    return ride.arrives_at - scaled(ride.eta_seconds)


def trip_km(ride) -> float | None:
    if not ride.has_dropoff:
        return None
    return haversine_km(
        ride.pickup_latitude, ride.pickup_longitude, ride.dropoff_latitude, ride.dropoff_longitude
    )


@dataclass(frozen=True)
class Progress:
    latitude: float
    longitude: float
    eta_seconds: int  # real seconds until the unicorn is at the pickup (0 once there)
    dropoff_eta_seconds: int | None  # on board with a drop-off: real seconds until it


def _between(start, end, fraction: float) -> tuple[float, float]:
    fraction = min(1.0, max(0.0, fraction))
    return (
        start[0] + (end[0] - start[0]) * fraction,
        start[1] + (end[1] - start[1]) * fraction,
    )


def progress(ride, now: datetime) -> Progress:
    """Where the ride's unicorn is at `now` and how long it still needs.

    Assigned: on the straight line from where it was dispatched to the pickup, at its speed.
    Arrived or expired: at the pickup. On board: from the pickup towards the drop-off at the
    same speed (it waits there for the completion). Cancelled: where it was at that moment.
    Completed: at the drop-off (the pickup without one).
    """
    start = (ride.unicorn_start_latitude, ride.unicorn_start_longitude)
    pickup = (ride.pickup_latitude, ride.pickup_longitude)
    dropoff = (ride.dropoff_latitude, ride.dropoff_longitude) if ride.has_dropoff else pickup
    status = ride.status
    if status == "cancelled":
        now = ride.cancelled_at or now
        status = "in_progress" if ride.boarded_at else ("arrived" if ride.arrived_at else "")
    if status in ("assigned", "") and ride.arrives_at and now < ride.arrives_at:
        total = (ride.arrives_at - departed_at(ride)).total_seconds()
        done = (now - departed_at(ride)).total_seconds()
        position = _between(start, pickup, done / total if total > 0 else 1.0)
        left = math.ceil((ride.arrives_at - now).total_seconds())
        return Progress(*position, eta_seconds=max(0, left), dropoff_eta_seconds=None)
    if status == "in_progress" and ride.boarded_at and ride.has_dropoff:
        total = scaled(travel_seconds(trip_km(ride))).total_seconds()
        done = (now - ride.boarded_at).total_seconds()
        position = _between(pickup, dropoff, done / total if total > 0 else 1.0)
        left = None if ride.status != "in_progress" else max(0, math.ceil(total - done))
        return Progress(*position, eta_seconds=0, dropoff_eta_seconds=left)
    if status == "completed":
        return Progress(*dropoff, eta_seconds=0, dropoff_eta_seconds=None)
    return Progress(*pickup, eta_seconds=0, dropoff_eta_seconds=None)
