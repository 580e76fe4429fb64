"""The ride's lifecycle, driven by the server: the unicorn travels, arrives, waits for the
rider to board, and the ride expires if nobody does. Each change reaches the rider."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from events.models import OutboxEvent
from notifications.models import Notification
from payments.models import Payment
from rides import lifecycle, services
from rides.models import Ride, Unicorn
from tests.factories import RideFactory, UnicornFactory, arrive_now, ride_in_progress

# Events are delivered once their transaction commits: the tests that read what delivery
# writes (notifications, the receipt) run the on_commit hooks their actions leave.
pytestmark = pytest.mark.django_db

SEATTLE = {"latitude": 47.6062, "longitude": -122.3321}
DROPOFF = {"latitude": 47.6262, "longitude": -122.3321}  # ~2.2 km north


def book(client, **body):
    body.setdefault("pickup", SEATTLE)
    response = client.post("/api/rides/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def shift(ride_id, seconds):
    """Move the ride's clock `seconds` on (arrival, deadlines and all)."""
    ride = Ride.objects.get(pk=ride_id)
    Ride.objects.filter(pk=ride_id).update(
        arrives_at=ride.arrives_at - timedelta(seconds=seconds),
        requested_at=ride.requested_at - timedelta(seconds=seconds),
    )


def notifications_of(user):
    return list(Notification.objects.filter(user=user).values_list("message", flat=True))


def event_types():
    return list(OutboxEvent.objects.order_by("occurred_at").values_list("type", flat=True))


def test_the_unicorn_travels_towards_the_pickup_and_the_eta_counts_down(rider_api, settings):
    settings.UNICORN_SPEED_KMH = 36  # 10 m/s
    start = (SEATTLE["latitude"] + 0.009, SEATTLE["longitude"])  # ~1 km north
    UnicornFactory(latitude=start[0], longitude=start[1])
    ride = book(rider_api)
    assert 98 <= ride["eta_seconds"] <= 101
    assert ride["unicorn"]["position"]["latitude"] == pytest.approx(start[0], abs=1e-4)

    shift(ride["id"], 50)
    halfway = rider_api.get(f"/api/rides/{ride['id']}/").json()
    assert halfway["status"] == "assigned"
    assert 48 <= halfway["eta_seconds"] <= 51
    midpoint = (start[0] + SEATTLE["latitude"]) / 2
    assert halfway["unicorn"]["position"]["latitude"] == pytest.approx(midpoint, abs=1e-4)

    shift(ride["id"], 60)
    arrived = rider_api.get(f"/api/rides/{ride['id']}/").json()
    assert arrived["status"] == "arrived"
    assert arrived["eta_seconds"] == 0
    assert arrived["unicorn"]["position"] == SEATTLE
    assert arrived["arrived_at"] == arrived["arrives_at"]


def test_ride_time_scale_speeds_up_the_clock(rider_api, settings):
    settings.UNICORN_SPEED_KMH = 36
    settings.RIDE_TIME_SCALE = 60
    UnicornFactory(latitude=SEATTLE["latitude"] + 0.009, longitude=SEATTLE["longitude"])
    ride = book(rider_api)
    assert ride["eta_seconds"] == 2  # 100 s of travel at 60x


def test_arrival_is_recorded_once_with_an_event_and_a_notification(
    rider_api, rider, django_capture_on_commit_callbacks
):
    UnicornFactory(name="Shadowfax", gender="male", color="white")
    with django_capture_on_commit_callbacks(execute=True):
        ride = book(rider_api)
        arrive_now(Ride.objects.get(pk=ride["id"]))
        for _ in range(3):  # several polls observe the same arrival
            assert rider_api.get(f"/api/rides/{ride['id']}/").json()["status"] == "arrived"
    assert event_types().count("rides.RideArrived") == 1
    messages = notifications_of(rider)
    assert any("Shadowfax, your white unicorn, is on his way" in m for m in messages)
    assert any("Shadowfax has arrived. Giddy up!" in m for m in messages)


def test_the_list_shows_the_arrival_too(rider_api):
    UnicornFactory()
    ride = book(rider_api)
    arrive_now(Ride.objects.get(pk=ride["id"]))
    assert rider_api.get("/api/rides/").json()["results"][0]["status"] == "arrived"


def test_boarding_before_the_unicorn_arrives_is_409(rider_api):
    UnicornFactory(name="Shadowfax", gender="male")
    ride = book(rider_api)
    response = rider_api.post(f"/api/rides/{ride['id']}/board/")
    assert response.status_code == 409
    assert response.json()["detail"] == (
        "Shadowfax has not arrived yet; board once he is at the pickup."
    )


def test_board_then_complete_charges_the_fare_once_and_sends_the_receipt(
    rider_api, rider, django_capture_on_commit_callbacks
):
    UnicornFactory(name="Shadowfax")
    ride = book(rider_api, dropoff=DROPOFF)
    early = rider_api.post(f"/api/rides/{ride['id']}/complete/")
    assert early.status_code == 409
    assert "after boarding" in early.json()["detail"]

    arrive_now(Ride.objects.get(pk=ride["id"]))
    boarded = rider_api.post(f"/api/rides/{ride['id']}/board/")
    assert boarded.status_code == 200
    assert boarded.json()["status"] == "in_progress"
    assert boarded.json()["boarded_at"]
    assert boarded.json()["dropoff_eta_seconds"] > 0

    with django_capture_on_commit_callbacks(execute=True):
        completed = rider_api.post(f"/api/rides/{ride['id']}/complete/").json()
    assert completed["status"] == "completed"
    assert completed["charged"] is True
    payment = Payment.objects.get(pk=completed["payment"])
    assert payment.amount_minor == Ride.objects.get(pk=ride["id"]).fare_minor
    assert rider_api.post(f"/api/rides/{ride['id']}/complete/").status_code == 409
    assert Payment.objects.filter(ride_id=ride["id"]).count() == 1

    receipt = [m for m in mail.outbox if ride["reference"] in m.subject]
    assert len(receipt) == 1
    assert receipt[0].to == [rider.email]
    assert completed["fare"]["amount"] in receipt[0].body.replace("$", "")
    assert any(m.startswith(f"Receipt for {ride['reference']}") for m in notifications_of(rider))
    assert event_types()[:3] == ["rides.RideAssigned", "rides.RideArrived", "rides.RideBoarded"]
    # The fare is registered at the ride's completed_at: one moment, so the same day.
    ended = dict(OutboxEvent.objects.values_list("type", "occurred_at")[3:])
    assert ended.keys() == {"rides.RideCompleted", "payments.PaymentRegistered"}
    assert ended["payments.PaymentRegistered"] == ended["rides.RideCompleted"]


def test_an_operator_can_complete_a_ride_in_progress(operator_api, rider):
    ride = ride_in_progress(rider=rider)
    response = operator_api.post(f"/api/rides/{ride.id}/complete/")
    assert response.status_code == 200
    assert response.json()["status"] == "completed"


def test_only_the_rider_boards(operator_api, rider):
    ride = RideFactory(rider=rider)
    arrive_now(ride)
    response = operator_api.post(f"/api/rides/{ride.id}/board/")
    assert response.status_code == 403


def test_cancelling_before_arrival_is_free(rider_api, rider, django_capture_on_commit_callbacks):
    UnicornFactory()
    ride = book(rider_api)
    with django_capture_on_commit_callbacks(execute=True):
        cancelled = rider_api.post(f"/api/rides/{ride['id']}/cancel/").json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["fare"] == {"amount": "0.00", "currency": "USD"}
    assert cancelled["charged"] is False
    assert cancelled["payment"] is None
    assert not Payment.objects.exists()
    assert any("You were not charged" in m for m in notifications_of(rider))


def test_cancelling_after_arrival_charges_the_fee_once(
    rider_api, rider, settings, django_capture_on_commit_callbacks
):
    settings.RIDE_CANCELLATION_FEE = __import__("decimal").Decimal("4.50")
    UnicornFactory()
    ride = book(rider_api)
    arrive_now(Ride.objects.get(pk=ride["id"]))
    with django_capture_on_commit_callbacks(execute=True):
        cancelled = rider_api.post(f"/api/rides/{ride['id']}/cancel/").json()
    assert cancelled["fare"] == {"amount": "4.50", "currency": "USD"}
    assert cancelled["cancellation_fee"] == {"amount": "4.50", "currency": "USD"}
    assert cancelled["charged"] is True
    fee = Payment.objects.get(ride_id=ride["id"])
    assert fee.amount_minor == 450
    assert cancelled["payment"] == str(fee.pk)
    assert rider_api.post(f"/api/rides/{ride['id']}/cancel/").status_code == 409
    assert Payment.objects.filter(ride_id=ride["id"]).count() == 1
    assert any("A cancellation fee of $4.50 was charged" in m for m in notifications_of(rider))


def test_the_rider_cannot_cancel_once_on_board(rider_api, rider):
    ride = ride_in_progress(rider=rider)
    response = rider_api.post(f"/api/rides/{ride.id}/cancel/")
    assert response.status_code == 409
    assert "on board" in response.json()["detail"]


def test_an_operator_cancellation_reaches_the_rider_free_of_charge(
    operator_api, rider, django_capture_on_commit_callbacks
):
    ride = ride_in_progress(rider=rider)
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_api.post(f"/api/rides/{ride.id}/cancel/")
    assert response.status_code == 200
    assert response.json()["cancelled_by_operator"] is True
    assert response.json()["charged"] is False
    ride.unicorn.refresh_from_db()
    assert ride.unicorn.is_available
    [message] = notifications_of(rider)
    assert message.startswith(f"An operator cancelled your ride {ride.reference}")
    assert "You were not charged" in message


def test_a_rider_who_does_not_board_is_a_no_show(
    rider_api, rider, settings, django_capture_on_commit_callbacks
):
    settings.RIDE_BOARDING_MINUTES = 5
    UnicornFactory(latitude=SEATTLE["latitude"] + 0.005, longitude=SEATTLE["longitude"])
    ride = book(rider_api)
    shift(ride["id"], ride["eta_seconds"] + 5 * 60 + 1)
    with django_capture_on_commit_callbacks(execute=True):
        expired = rider_api.get(f"/api/rides/{ride['id']}/").json()
    assert expired["status"] == "expired"
    assert expired["fare"] == {"amount": "5.00", "currency": "USD"}
    assert expired["charged"] is True
    assert rider_api.get(f"/api/rides/{ride['id']}/").json()["status"] == "expired"
    assert Payment.objects.filter(ride_id=ride["id"]).count() == 1
    unicorn = Unicorn.objects.get()
    assert unicorn.is_available
    assert (unicorn.latitude, unicorn.longitude) == (SEATTLE["latitude"], SEATTLE["longitude"])
    assert rider_api.post(f"/api/rides/{ride['id']}/board/").status_code == 409
    assert any("expired" in m and "no-show fee of $5.00" in m for m in notifications_of(rider))
    assert event_types().count("rides.RideExpired") == 1


def test_the_sweep_settles_rides_nobody_looks_at(rider, other_rider, settings):
    now = timezone.now()
    waiting = RideFactory(rider=rider, arrives_at=now - timedelta(seconds=5))
    gone = RideFactory(rider=other_rider, arrives_at=now - timedelta(minutes=30))
    on_the_way = RideFactory(arrives_at=now + timedelta(minutes=1))
    assert services.settle_due_rides() == 2
    statuses = dict(Ride.objects.values_list("pk", "status"))
    assert statuses[waiting.pk] == "arrived"
    assert statuses[gone.pk] == "expired"
    assert statuses[on_the_way.pk] == "assigned"
    assert services.settle_due_rides() == 0


def test_the_position_of_a_cancelled_ride_is_where_the_unicorn_stopped(rider):
    ride = RideFactory(rider=rider, unicorn_start_latitude=SEATTLE["latitude"] + 0.01)
    ride.arrives_at = timezone.now() + timedelta(seconds=30)  # half of its 60 s done
    ride.save()
    services.cancel_ride(ride=ride, by=rider)
    ride.unicorn.refresh_from_db()
    assert ride.unicorn.latitude == pytest.approx(SEATTLE["latitude"] + 0.005, abs=3e-4)


def test_progress_is_a_pure_function_of_time(rider):
    ride = RideFactory.build(
        rider=rider, status="assigned", eta_seconds=100,
        unicorn_start_latitude=1.0, unicorn_start_longitude=0.0,
        pickup_latitude=0.0, pickup_longitude=0.0,
        arrives_at=timezone.now(),
    )  # fmt: skip
    at = ride.arrives_at
    assert lifecycle.progress(ride, at - timedelta(seconds=100)).latitude == pytest.approx(1.0)
    assert lifecycle.progress(ride, at - timedelta(seconds=25)).latitude == pytest.approx(0.25)
    assert lifecycle.progress(ride, at - timedelta(seconds=25)).eta_seconds == 25
    assert lifecycle.progress(ride, at + timedelta(seconds=5)).latitude == 0.0


def test_the_settle_rides_command_runs_the_sweep(rider):
    from io import StringIO

    from django.core.management import call_command

    RideFactory(rider=rider, arrives_at=timezone.now() - timedelta(seconds=1))
    out = StringIO()
    call_command("settle_rides", stdout=out)
    assert out.getvalue().strip() == "Settled 1 ride(s)."
    assert Ride.objects.get().status == "arrived"


def test_the_stage_runs_the_sweep_on_a_schedule(rider):
    """On AWS nobody runs the command: Zappa's schedule calls rides.aws.settle_on_schedule."""
    import json
    from pathlib import Path

    from django.conf import settings as django_settings

    from rides import aws

    config = json.loads((Path(django_settings.BASE_DIR) / "zappa_settings.json").read_text())
    functions = {
        event.get("function")
        for stage in config.values()
        for event in stage.get("events", []) + stage.get("events_template", [])
    }
    assert "rides.aws.settle_on_schedule" in functions
    RideFactory(rider=rider, arrives_at=timezone.now() - timedelta(seconds=1))
    assert aws.settle_on_schedule({"source": "aws.events"}, None) == {"settled": 1}
    assert Ride.objects.get().status == "arrived"
