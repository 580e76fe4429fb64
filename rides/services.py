"""Dispatch and the ride lifecycle: assigned → arrived → in_progress → completed, or
cancelled, or expired (see DESIGN.md; the clock is rides.lifecycle)."""

import math
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.actors import actor_label
from core.exceptions import Conflict, DomainError, ServiceUnavailable
from core.geo import KM_PER_DEGREE_LATITUDE, bounding_box, haversine_km
from core.money import apply_multiplier
from core.observability import count_metric, timed
from events.outbox import emit
from payments import services as payment_services
from promos import client as promo_client
from rides import fares, lifecycle
from rides.models import ACTIVE_STATUSES, Ride, Unicorn, UnicornApplication, new_reference

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


# --- Where rides may go ------------------------------------------------------------------


class OutsideServiceArea(DomainError):
    pass


class NotARide(DomainError):
    default_detail = "The drop-off is where you would be picked up."


class ActiveRideExists(Conflict):
    pass


class NotYourRide(DomainError):
    status_code = 403
    default_detail = "Only the ride's rider can do that."


def _area_sentence() -> str:
    return f"We serve {settings.SERVICE_AREA['radius_km']:g} km around the city centre"


def check_trip(pickup: Point, dropoff: Point | None) -> None:
    """Pickup and drop-off inside SERVICE_AREA, and a drop-off that is somewhere else."""
    area = settings.SERVICE_AREA
    for point, what in ((pickup, "pickup"), (dropoff, "drop-off")):
        if point is None:
            continue
        away = haversine_km(area["latitude"], area["longitude"], *point.as_tuple())
        if away > area["radius_km"]:
            raise OutsideServiceArea(
                f"Your {what} is outside our service area ({away:.0f} km from the city "
                f"centre). {_area_sentence()}: choose a {what} inside it."
            )
    if dropoff is not None and trip_km(pickup, dropoff) < settings.RIDE_MIN_TRIP_KM:
        raise NotARide(
            "Your drop-off is where you would be picked up. Choose a drop-off elsewhere, "
            "or leave it out for a flat fare."
        )


def trip_km(pickup: Point, dropoff: Point) -> float:
    return haversine_km(*pickup.as_tuple(), *dropoff.as_tuple())


# --- Requesting a ride ---------------------------------------------------------------------


def active_ride_of(rider) -> Ride | None:
    """The rider's ride under way (assigned, arrived, in progress) as time has made it: one
    whose unicorn arrived or whose boarding window ran out since anyone looked is settled
    first (an expired no-show is over, its fee charged)."""
    ride = (
        Ride.objects.filter(rider=rider, status__in=ACTIVE_STATUSES)
        .select_related("unicorn", "rider")
        .first()
    )
    if ride is not None:
        ride = settle_ride(ride)
    return ride if ride is not None and ride.is_active else None


def _ride_booked_as(ride_id: uuid.UUID, rider) -> Ride | None:
    ride = Ride.objects.filter(id=ride_id, rider=rider).select_related("unicorn", "rider").first()
    return settle_ride(ride) if ride is not None else None


def _refuse_second_ride(ride: Ride):
    state = {
        Ride.Status.ASSIGNED: f"{ride.unicorn.name} is on the way to you",
        Ride.Status.ARRIVED: f"{ride.unicorn.name} is waiting for you at the pickup",
        Ride.Status.IN_PROGRESS: "you are on it",
    }[ride.status]
    raise ActiveRideExists(
        f"You already have a ride ({ride.reference}): {state}. "
        "Finish or cancel it before you request another."
    )


def request_ride(
    *, rider, pickup: Point, dropoff: Point | None = None, ride_id: uuid.UUID | None = None
) -> Ride:
    """Dispatch the nearest free unicorn to `pickup` and record the ride with its fare.

    `ride_id`: the id to book the ride under (an Idempotency-Key claim's; a new one if not
    given). A retry of a request whose ride was booked under it before (the first process
    died before answering) gets that ride back: never a second ride.

    Refused before anything is asked or recorded: a pickup or drop-off outside the service
    area or a drop-off on the pickup (400). A rider who already has an active ride: 409,
    from the database's one-active-ride constraint when the ride is recorded (nothing is
    read before: the ride page shows an active ride, not the booking form, so a second
    request is rare); its discount is released like any ride that is not booked.

    The discount comes from the promo service (never from the rider's request) and is
    recorded with the ride; if that service fails the ride is booked at 1.00. A discount
    the other service recorded for a ride that is then not booked here (no unicorn, a
    second active ride, any error), or that came too late, is released again.
    """
    check_trip(pickup, dropoff)
    ride_id = ride_id or uuid.uuid4()
    # Nothing is read before booking, a refusal finds out why (two queries less: 19% less
    # app CPU per rider's request on PostgreSQL, 11.2 -> 9.1 ms, 2026-12-06).
    try:
        return _book(rider, pickup, dropoff, ride_id)
    except (IntegrityError, NoUnicornAvailable) as refused:
        # A retry whose first request booked the ride under this id (a stale claim).
        if (booked := _ride_booked_as(ride_id, rider)) is not None:
            return booked
        # The one-active-ride constraint (or no unicorn for a rider who has one anyway):
        # the rider's ride, unless time has just ended it (a no-show nobody had looked at
        # since, settled now): then book once more.
        active = active_ride_of(rider)
        if active is not None:
            _refuse_second_ride(active)
        if isinstance(refused, NoUnicornAvailable):
            raise
        return _book(rider, pickup, dropoff, ride_id)


def _book(rider, pickup: Point, dropoff: Point | None, ride_id: uuid.UUID) -> Ride:
    """The discount is worked out first (reads, or the HTTP call to another promo service),
    then one short transaction claims the unicorn, records the award and the ride. The
    transaction holds the database's write lock on SQLite and the unicorn's row on
    PostgreSQL, so nothing slow runs inside it. No unicorn free: nothing is recorded."""
    base = fares.base_fare_minor(pickup.as_tuple(), dropoff.as_tuple() if dropoff else None)
    with timed("discount"):
        offer = promo_client.offer_discount_for_ride(
            ride_id=ride_id,
            username=rider.email,
            latitude=pickup.latitude,
            longitude=pickup.longitude,
            fare_minor=base,
        )
    try:
        with transaction.atomic():
            with timed("dispatch"):
                unicorn, km = dispatch_nearest_unicorn(pickup)
            with timed("record"):
                discount = offer.confirm()
                ride = _record_ride(ride_id, rider, unicorn, km, pickup, dropoff, base, discount)
                emit(RIDE_ASSIGNED, ride_event_data(ride))
    except BaseException:
        offer.release()
        raise
    offer.settle_booked()
    count_metric("RidesRequested")
    return ride


def _record_ride(ride_id, rider, unicorn, km, pickup, dropoff, base, discount) -> Ride:
    eta = lifecycle.travel_seconds(km)  # to the pickup, on the ride's clock
    return Ride.objects.create(
        id=ride_id,
        reference=new_reference(),
        rider=rider,
        unicorn=unicorn,
        pickup_latitude=pickup.latitude,
        pickup_longitude=pickup.longitude,
        dropoff_latitude=dropoff.latitude if dropoff else None,
        dropoff_longitude=dropoff.longitude if dropoff else None,
        unicorn_start_latitude=unicorn.latitude,
        unicorn_start_longitude=unicorn.longitude,
        distance_to_pickup_m=round(km * 1000),
        eta_seconds=eta,
        arrives_at=timezone.now() + lifecycle.scaled(eta),
        base_fare_minor=base,
        discount_multiplier=discount.multiplier,
        discount_award_id=discount.award_id,
        discount_campaign=discount.campaign or "",
        discount_label=discount.label or "",
        fare_minor=apply_multiplier(base, discount.multiplier),
        fare_currency=settings.FARE_CURRENCY,
    )


# --- Time-driven transitions: arrival and expiry ------------------------------------------


def settle_ride(ride: Ride, now=None) -> Ride:
    """Record what time has made true of `ride`: the unicorn's arrival at the pickup, and a
    rider who did not board within the boarding window (expired, no-show fee).

    Reading a ride calls this, so its state never depends on a background job; a scheduled
    sweep (`settle_due_rides`) does the same for rides nobody looks at. Idempotent and safe
    under concurrency: each transition is made once, under the ride's row lock, whoever
    observes it first; the others see it done. Writes only when something is due.
    """
    now = now or timezone.now()
    return _transition_due(ride, now) if is_due(ride, now) else ride


def is_due(ride: Ride, now) -> bool:
    """Has time made a transition of `ride` due (arrival, or expiry of the boarding)?"""
    if ride.status == Ride.Status.ASSIGNED:
        return ride.arrives_at is not None and ride.arrives_at <= now
    return ride.status == Ride.Status.ARRIVED and lifecycle.boarding_deadline(ride) <= now


@transaction.atomic
def _transition_due(ride: Ride, now) -> Ride:
    ride = _locked(ride)
    if ride.status == Ride.Status.ASSIGNED and ride.arrives_at <= now:
        ride.status, ride.arrived_at = Ride.Status.ARRIVED, ride.arrives_at
        ride.save(update_fields=["status", "arrived_at"])
        emit(RIDE_ARRIVED, ride_event_data(ride), occurred_at=ride.arrived_at)
    if ride.status == Ride.Status.ARRIVED and lifecycle.boarding_deadline(ride) <= now:
        ride.status, ride.expired_at = Ride.Status.EXPIRED, lifecycle.boarding_deadline(ride)
        ride.cancellation_fee_minor = _cancellation_fee_minor()
        ride.save(update_fields=["status", "expired_at", "cancellation_fee_minor"])
        _free_unicorn(ride.unicorn, latitude=ride.pickup_latitude, longitude=ride.pickup_longitude)
        # When time made it so, not when someone noticed: the receipt's, finance's and
        # BI's day of the no-show (the sweep may come after midnight).
        ride.fare_payment = _charge_fee(ride, at=ride.expired_at)
        emit(RIDE_EXPIRED, ride_event_data(ride), occurred_at=ride.expired_at)
        count_metric("RidesExpired")
    return ride


def settle_due_rides(*, now=None, limit: int = 500) -> int:
    """The sweep: settle every ride whose arrival or boarding deadline has passed (the
    oldest first, at most `limit`); returns how many changed. `manage.py settle_rides`."""
    now = now or timezone.now()
    expired_arrivals = now - lifecycle.boarding_window()
    due = (
        Ride.objects.filter(
            Q(status=Ride.Status.ASSIGNED, arrives_at__lte=now)
            | Q(status=Ride.Status.ARRIVED, arrives_at__lte=expired_arrivals)
        )
        .select_related("unicorn", "rider")
        .order_by("arrives_at")[:limit]
    )
    changed = 0
    for ride in due:
        before = ride.status
        changed += settle_ride(ride, now).status != before
    return changed


# --- What riders and operators do ---------------------------------------------------------


def _current(ride: Ride) -> Ride:
    """The ride as stored now (the caller's copy may be older)."""
    return Ride.objects.select_related("unicorn", "rider").get(pk=ride.pk)


def _locked(ride: Ride) -> Ride:
    return Ride.objects.select_for_update().select_related("unicorn", "rider").get(pk=ride.pk)


def _is_operator(user, ride) -> bool:
    return user is not None and user.pk != ride.rider_id and user.is_staff


def _refuse(ride: Ride, action: str):
    if ride.status == Ride.Status.EXPIRED:
        raise Conflict(
            f"This ride already expired: nobody boarded within "
            f"{settings.RIDE_BOARDING_MINUTES:g} minutes of the unicorn's arrival; "
            f"it cannot be {action}."
        )
    raise Conflict(f"This ride is already {ride.get_status_display()}; it cannot be {action}.")


def _cancellation_fee_minor() -> int:
    return int(settings.RIDE_CANCELLATION_FEE * 100)


def _charge_fee(ride: Ride, at=None):
    """The ride's fee, if any, registered once (reference ride-<id>-fee); `at`: the moment
    of the change that charges it (a cancellation's cancelled_at), else now."""
    if not ride.cancellation_fee_minor:
        return None
    return payment_services.register_ride_charge(
        ride=ride,
        actor="service:rides",
        amount_minor=ride.cancellation_fee_minor,
        currency=ride.fare_currency,
        kind="fee",
        at=at,
    )


def _free_unicorn(unicorn: Unicorn, *, latitude: float | None = None, longitude=None):
    unicorn.is_available = True
    fields = ["is_available", "updated_at"]
    if latitude is not None:
        unicorn.latitude, unicorn.longitude = latitude, longitude
        fields += ["latitude", "longitude"]
    unicorn.save(update_fields=fields)


def board_ride(*, ride: Ride, by) -> Ride:
    """The rider is on: arrived → in_progress. Only from `arrived`; only the rider."""
    ride = settle_ride(_current(ride))
    with transaction.atomic():
        ride = _locked(ride)
        if by is not None and by.pk != ride.rider_id:
            raise NotYourRide("Only the rider can board their unicorn.")
        if ride.status == Ride.Status.ASSIGNED:
            raise Conflict(
                f"{ride.unicorn.name} has not arrived yet; board once "
                f"{ride.unicorn.pronoun_subject} is at the pickup."
            )
        if ride.status == Ride.Status.IN_PROGRESS:
            raise Conflict("You are already on board; this ride cannot be boarded again.")
        if ride.status != Ride.Status.ARRIVED:
            _refuse(ride, "boarded")
        ride.status, ride.boarded_at = Ride.Status.IN_PROGRESS, timezone.now()
        ride.save(update_fields=["status", "boarded_at"])
        emit(RIDE_BOARDED, ride_event_data(ride))
    return ride


def cancel_ride(*, ride: Ride, by) -> Ride:
    """Cancel a ride that has not ended. The rider: free until the unicorn arrives, then
    RIDE_CANCELLATION_FEE (charged as a payment, once); not once on board (complete it).
    An operator (the API or the admin): at any active state, free of charge. The unicorn
    stops where it is and is free again. The rider hears of it (event, notification)."""
    ride = settle_ride(_current(ride))
    with transaction.atomic():
        ride = _locked(ride)
        if not ride.is_active:
            _refuse(ride, "cancelled")
        operator = _is_operator(by, ride)
        if ride.status == Ride.Status.IN_PROGRESS and not operator:
            raise Conflict(
                "You are on board: this ride cannot be cancelled any more. Complete it at "
                "your drop-off."
            )
        now = timezone.now()
        fee = ride.status == Ride.Status.ARRIVED and not operator
        where = lifecycle.progress(ride, now)
        ride.status, ride.cancelled_at, ride.cancelled_by = Ride.Status.CANCELLED, now, by
        ride.cancellation_fee_minor = _cancellation_fee_minor() if fee else 0
        ride.save(
            update_fields=["status", "cancelled_at", "cancelled_by", "cancellation_fee_minor"]
        )
        _free_unicorn(ride.unicorn, latitude=where.latitude, longitude=where.longitude)
        # At the cancellation: one clock reading, so the fee is on the cancellation's day.
        ride.fare_payment = _charge_fee(ride, at=now)
        emit(RIDE_CANCELLED, {**ride_event_data(ride), "by_operator": operator})
    return ride


def complete_ride(*, ride: Ride, by) -> Ride:
    """Finish a ride the rider is on (in_progress): free the unicorn where it ended,
    register the fare payment (once: its reference is the ride) and report RideCompleted,
    which brings the rider the receipt (notification and e-mail)."""
    ride = settle_ride(_current(ride))
    with transaction.atomic():
        ride = _locked(ride)
        if ride.status in (Ride.Status.ASSIGNED, Ride.Status.ARRIVED):
            raise Conflict(
                "The rider is not on board yet: a ride can be completed only after boarding."
            )
        if ride.status != Ride.Status.IN_PROGRESS:
            _refuse(ride, "completed")
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
        emit(RIDE_COMPLETED, ride_completed_data(ride), occurred_at=ride.completed_at)
        count_metric("RidesCompleted")
    return ride


RIDE_ASSIGNED = "rides.RideAssigned"
RIDE_ARRIVED = "rides.RideArrived"
RIDE_BOARDED = "rides.RideBoarded"
RIDE_COMPLETED = "rides.RideCompleted"
RIDE_CANCELLED = "rides.RideCancelled"
RIDE_EXPIRED = "rides.RideExpired"


def _iso(moment):
    return moment.isoformat() if moment else None


def ride_event_data(ride: Ride) -> dict:
    """What every ride event carries: enough for a notification or a receipt without
    reading the rides tables."""
    return {
        "ride_id": str(ride.id),
        "reference": ride.reference,
        "rider_id": ride.rider_id,
        "status": ride.status,
        "unicorn": ride.unicorn.name,
        "unicorn_color": ride.unicorn.color,
        "unicorn_pronoun": ride.unicorn.pronoun,
        "base_fare_minor": ride.base_fare_minor,
        "fare_minor": ride.fare_minor,
        "cancellation_fee_minor": ride.cancellation_fee_minor,
        "currency": ride.fare_currency,
        "discount_multiplier": str(ride.discount_multiplier),
        "discount_label": ride.discount_label or None,
        "campaign": ride.discount_campaign or None,
        "distance_km": round(lifecycle.trip_km(ride), 2) if ride.has_dropoff else None,
        "boarding_minutes": settings.RIDE_BOARDING_MINUTES,
        "eta_seconds": lifecycle.progress(ride, timezone.now()).eta_seconds,
        "requested_at": _iso(ride.requested_at),
        "arrived_at": _iso(ride.arrived_at),
        "boarded_at": _iso(ride.boarded_at),
        "completed_at": _iso(ride.completed_at),
        "cancelled_at": _iso(ride.cancelled_at),
        "expired_at": _iso(ride.expired_at),
    }


def ride_completed_data(ride: Ride) -> dict:
    """A ride event's data, and what the receipt adds: the payment, and the places of the
    trip by name (coarse on purpose: events carry no coordinates)."""
    payment = getattr(ride, "fare_payment", None)
    return {
        **ride_event_data(ride),
        "payment_id": str(payment.pk) if payment is not None else None,
        "pickup_place": ride.pickup_place,
        "dropoff_place": ride.dropoff_place,
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
    actor = actor_label(by)
    for unicorn in changed:
        unicorn.on_duty, unicorn.updated_at = on_duty, now
        emit(
            UNICORN_DUTY_CHANGED,
            {"unicorn_id": unicorn.pk, "unicorn": unicorn.name, "on_duty": on_duty, "by": actor},
        )
    return changed


# --- What operators put right (the admin) -------------------------------------------------

RIDE_FEE_WAIVED = "rides.RideFeeWaived"
UNICORN_FREED = "rides.UnicornFreed"


def waive_cancellation_fee(*, ride: Ride, by) -> Ride:
    """An operator forgives the fee of a ride the rider cancelled after the arrival or did
    not board (expired): the ride's fee becomes none and its fee payment is deleted as
    waived (kept for the audit, payments.services.waive_ride_fee). Once: a ride without a fee is
    refused, as is a fee finance already verified as paid (theirs to refund)."""
    ride = settle_ride(_current(ride))
    with transaction.atomic():
        ride = _locked(ride)
        if not _is_operator(by, ride):
            raise DomainError("Only an operator can waive a ride's fee.")
        if ride.status not in (Ride.Status.CANCELLED, Ride.Status.EXPIRED):
            raise Conflict(
                f"This ride is {ride.get_status_display()}: only the fee of a cancelled or "
                "expired ride can be waived."
            )
        if not ride.cancellation_fee_minor:
            raise Conflict("This ride has no fee to waive (already waived, or never charged).")
        fee = ride.payments.filter(reference=payment_services.ride_charge_reference(ride, "fee"))
        fee = fee.first()
        if fee is not None and fee.status == fee.Status.VERIFIED:
            raise Conflict(
                "Its fee was already verified as paid: finance refunds it; it cannot be waived."
            )
        waived = ride.cancellation_fee_minor
        ride.cancellation_fee_minor = 0
        ride.save(update_fields=["cancellation_fee_minor"])
        if fee is not None and fee.status == fee.Status.REGISTERED:
            payment_services.waive_ride_fee(payment=fee, actor=by)
        waived_data = {"waived_minor": waived, "by": actor_label(by)}
        emit(RIDE_FEE_WAIVED, {**ride_event_data(ride), **waived_data})
    return ride


def free_stuck_unicorn(*, unicorn: Unicorn, by) -> Unicorn:
    """Make a unicorn marked busy with no active ride free for dispatch again (a ride that
    ended without freeing it). Refused for a unicorn already free, or on a ride now: end
    that ride instead (cancel or complete), which frees it. Reported by an event."""
    with transaction.atomic():
        # Under the unicorn's row lock: a dispatch claiming it commits its ride first.
        unicorn = Unicorn.objects.select_for_update().get(pk=unicorn.pk)
        if unicorn.is_available:
            raise Conflict(f"{unicorn.name} is already free for rides.")
        ride = unicorn.rides.filter(status__in=ACTIVE_STATUSES).first()
        if ride is not None:
            raise Conflict(
                f"{unicorn.name} is on ride {ride.reference} ({ride.get_status_display()}): "
                "cancel or complete that ride, which frees the unicorn."
            )
        _free_unicorn(unicorn)
        freed = {"unicorn_id": unicorn.pk, "unicorn": unicorn.name, "by": actor_label(by)}
        emit(UNICORN_FREED, freed)
    return unicorn
