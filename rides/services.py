"""Dispatch and the ride lifecycle: assigned → completed or cancelled."""

import math
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from core.db import insert_row
from core.exceptions import Conflict, ServiceUnavailable
from core.geo import KM_PER_DEGREE_LATITUDE, bounding_box, haversine_km
from core.money import apply_multiplier
from core.observability import count_metric, timed
from events.services import emit
from payments import services as payment_services
from promos import client as promo_client
from rides import fares
from rides.models import Ride, Unicorn, UnicornApplication

# Search near first: most requests find a unicorn in the smallest box.
_SEARCH_RADII_KM = (2.0, 10.0)


class NoUnicornAvailable(ServiceUnavailable):
    default_detail = "No unicorn is free near you right now."


@dataclass(frozen=True)
class Point:
    latitude: float
    longitude: float

    def as_tuple(self) -> tuple[float, float]:
        return (self.latitude, self.longitude)


def _search_radii():
    largest = settings.DISPATCH_MAX_RADIUS_KM
    return [r for r in _SEARCH_RADII_KM if r < largest] + [largest]


def dispatch_nearest_unicorn(pickup: Point) -> tuple[Unicorn, float]:
    """Claim the nearest free unicorn and return it with its distance in km.

    One statement per search radius: UPDATE the nearest free unicorn in the box WHERE it is
    still free, RETURNING it. Two concurrent requests can never win the same unicorn: on
    PostgreSQL the loser's subquery skips the row the winner locked; SQLite has one writer.
    """
    for radius in _search_radii():
        claimed = _claim_nearest(pickup, radius)
        if claimed is not None:
            return claimed, haversine_km(*pickup.as_tuple(), claimed.latitude, claimed.longitude)
    retry = settings.DISPATCH_RETRY_AFTER_SECONDS
    raise NoUnicornAvailable(
        f"No unicorn is free near you right now. Try again in {retry} seconds.",
        retry_after=retry,
    )


def _claim_nearest(pickup: Point, radius_km: float) -> Unicorn | None:
    """The nearest free on-duty unicorn within `radius_km`, claimed (flat-earth distance,
    exact at city scale; the box keeps the search on the dispatch index)."""
    min_lat, max_lat, min_lon, max_lon = bounding_box(*pickup.as_tuple(), radius_km)
    km_per_lon = KM_PER_DEGREE_LATITUDE * math.cos(math.radians(pickup.latitude))
    table = connection.ops.quote_name(Unicorn._meta.db_table)
    skip_locked = (
        " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    )
    distance = (
        "((latitude - %s) * %s) * ((latitude - %s) * %s)"
        " + ((longitude - %s) * %s) * ((longitude - %s) * %s)"
    )
    distance_params = [pickup.latitude, KM_PER_DEGREE_LATITUDE] * 2 + [
        pickup.longitude,
        km_per_lon,
    ] * 2
    sql = f"""
        UPDATE {table} SET is_available = %s, updated_at = %s
        WHERE id = (
            SELECT id FROM {table}
            WHERE on_duty = %s AND is_available = %s
              AND latitude BETWEEN %s AND %s AND longitude BETWEEN %s AND %s
              AND {distance} <= %s
            ORDER BY {distance} LIMIT 1{skip_locked}
        ) AND is_available = %s
        RETURNING id, name, color, gender, latitude, longitude
    """  # noqa: S608 (the table name comes from the model; values are parameters)
    params = [
        False, timezone.now(), True, True, min_lat, max_lat, min_lon, max_lon,
        *distance_params, radius_km * radius_km, *distance_params, True,
    ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    unicorn_id, name, color, gender, latitude, longitude = row
    return Unicorn(
        id=unicorn_id, name=name, color=color, gender=gender, latitude=latitude,
        longitude=longitude, on_duty=True, is_available=False,
    )  # fmt: skip


def eta_seconds(distance_km: float) -> int:
    return max(1, round(distance_km / settings.UNICORN_SPEED_KMH * 3600))


def request_ride(*, rider, pickup: Point, dropoff: Point | None = None) -> Ride:
    """Dispatch the nearest free unicorn to `pickup` and record the ride with its fare.

    The discount comes from the promo service (never from the rider's request) and is
    recorded with the ride; if that service fails the ride is booked at 1.00.

    The discount is worked out first (reads, or the HTTP call to another promo service),
    then one short transaction claims the unicorn, records the award and the ride. The
    transaction holds the database's write lock on SQLite and the unicorn's row on
    PostgreSQL, so nothing slow runs inside it. No unicorn free: nothing is recorded.
    """
    ride_id = uuid.uuid4()
    base = fares.base_fare_minor(pickup.as_tuple(), dropoff.as_tuple() if dropoff else None)
    with timed("discount"):
        offer = promo_client.offer_discount_for_ride(
            ride_id=ride_id,
            username=rider.email,
            latitude=pickup.latitude,
            longitude=pickup.longitude,
            fare_minor=base,
        )
    with transaction.atomic():
        with timed("dispatch"):
            unicorn, km = dispatch_nearest_unicorn(pickup)
        with timed("record"):
            discount = offer.confirm()
            ride = _record_ride(ride_id, rider, unicorn, km, pickup, dropoff, base, discount)
    count_metric("RidesRequested")
    return ride


def _record_ride(ride_id, rider, unicorn, km, pickup, dropoff, base, discount) -> Ride:
    ride = Ride(
        id=ride_id,
        rider=rider,
        unicorn=unicorn,
        pickup_latitude=pickup.latitude,
        pickup_longitude=pickup.longitude,
        dropoff_latitude=dropoff.latitude if dropoff else None,
        dropoff_longitude=dropoff.longitude if dropoff else None,
        unicorn_start_latitude=unicorn.latitude,
        unicorn_start_longitude=unicorn.longitude,
        distance_to_pickup_m=round(km * 1000),
        eta_seconds=eta_seconds(km),
        base_fare_minor=base,
        discount_multiplier=discount.multiplier,
        discount_award_id=discount.award_id,
        discount_campaign=discount.campaign or "",
        discount_label=discount.label or "",
        fare_minor=apply_multiplier(base, discount.multiplier),
        fare_currency=settings.FARE_CURRENCY,
    )
    return insert_row(ride)


def _lock_assigned_ride(ride: Ride, action: str) -> Ride:
    locked = Ride.objects.select_for_update().select_related("unicorn", "rider").get(pk=ride.pk)
    if locked.status != Ride.Status.ASSIGNED:
        raise Conflict(f"This ride is already {locked.status}; it cannot be {action}.")
    return locked


def _free_unicorn(unicorn: Unicorn, *, latitude: float | None = None, longitude=None):
    unicorn.is_available = True
    fields = ["is_available", "updated_at"]
    if latitude is not None:
        unicorn.latitude, unicorn.longitude = latitude, longitude
        fields += ["latitude", "longitude"]
    unicorn.save(update_fields=fields)


@transaction.atomic
def cancel_ride(*, ride: Ride, by) -> Ride:
    """Cancel an assigned ride; the unicorn stays where it is and is free again."""
    ride = _lock_assigned_ride(ride, "cancelled")
    ride.status = Ride.Status.CANCELLED
    ride.cancelled_at = timezone.now()
    ride.cancelled_by = by
    ride.save(update_fields=["status", "cancelled_at", "cancelled_by"])
    _free_unicorn(ride.unicorn)
    return ride


@transaction.atomic
def complete_ride(*, ride: Ride, by) -> Ride:
    """Finish an assigned ride: free the unicorn where the ride ended, register the fare
    payment (once: its reference is the ride) and report RideCompleted."""
    ride = _lock_assigned_ride(ride, "completed")
    ride.status = Ride.Status.COMPLETED
    ride.completed_at = timezone.now()
    ride.save(update_fields=["status", "completed_at"])
    end = (
        (ride.dropoff_latitude, ride.dropoff_longitude)
        if ride.has_dropoff
        else (ride.pickup_latitude, ride.pickup_longitude)
    )
    _free_unicorn(ride.unicorn, latitude=end[0], longitude=end[1])
    ride.fare_payment = payment_services.register_fare_payment(ride=ride, actor=by)
    emit(RIDE_COMPLETED, ride_completed_data(ride))
    return ride


RIDE_COMPLETED = "rides.RideCompleted"


def ride_completed_data(ride: Ride) -> dict:
    return {
        "ride_id": str(ride.id),
        "rider_id": ride.rider_id,
        "unicorn": ride.unicorn.name,
        "base_fare_minor": ride.base_fare_minor,
        "fare_minor": ride.fare_minor,
        "currency": ride.fare_currency,
        "discount_multiplier": str(ride.discount_multiplier),
        "campaign": ride.discount_campaign or None,
        "requested_at": ride.requested_at.isoformat(),
        "completed_at": ride.completed_at.isoformat(),
    }


def submit_unicorn_application(
    *, name: str, color: str, gender: str, email: str, motivation: str = ""
) -> UnicornApplication:
    return UnicornApplication.objects.create(
        name=name.strip(), color=color.strip(), gender=gender, email=email, motivation=motivation
    )


def _decide(application_id, by, status) -> UnicornApplication:
    application = UnicornApplication.objects.select_for_update().get(pk=application_id)
    if application.status != UnicornApplication.Status.PENDING:
        raise Conflict(f"This application was already {application.status}.")
    application.status = status
    application.decided_at = timezone.now()
    application.decided_by = by
    return application


@transaction.atomic
def accept_unicorn_application(*, application: UnicornApplication, by) -> Unicorn:
    """Welcome the applicant into the fleet: a new unicorn, off duty until it starts."""
    application = _decide(application.pk, by, UnicornApplication.Status.ACCEPTED)
    if Unicorn.objects.filter(name__iexact=application.name).exists():
        raise Conflict(f"A unicorn named {application.name} is already in the fleet.")
    application.unicorn = Unicorn.objects.create(
        name=application.name,
        color=application.color,
        gender=application.gender,
        latitude=settings.CITY_CENTER[0],
        longitude=settings.CITY_CENTER[1],
        on_duty=False,
    )
    application.save()
    return application.unicorn


@transaction.atomic
def reject_unicorn_application(*, application: UnicornApplication, by) -> UnicornApplication:
    application = _decide(application.pk, by, UnicornApplication.Status.REJECTED)
    application.save()
    return application


UNICORN_DUTY_CHANGED = "rides.UnicornDutyChanged"


@transaction.atomic
def set_unicorns_on_duty(unicorns, on_duty: bool, by) -> list[Unicorn]:
    """Put unicorns on or off duty; returns those that changed, each reported by an event.

    Off duty, a unicorn gets no new rides; one on a ride now finishes it and then stays out
    of dispatch. Unicorns already in the wanted state are left alone (and not reported).
    """
    ids = unicorns.values("pk") if isinstance(unicorns, QuerySet) else [u.pk for u in unicorns]
    to_change = Unicorn.objects.filter(pk__in=ids).exclude(on_duty=on_duty)
    changed = list(to_change.select_for_update().order_by("pk"))
    if not changed:
        return []
    now = timezone.now()
    to_change.update(on_duty=on_duty, updated_at=now)
    actor = getattr(by, "email", None) or str(by)
    for unicorn in changed:
        unicorn.on_duty, unicorn.updated_at = on_duty, now
        emit(
            UNICORN_DUTY_CHANGED,
            {"unicorn_id": unicorn.pk, "unicorn": unicorn.name, "on_duty": on_duty, "by": actor},
        )
    return changed
