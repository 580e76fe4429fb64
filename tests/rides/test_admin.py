from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from events.models import OutboxEvent
from payments.selectors import fare_payment_ids
from rides.models import Ride, Unicorn, UnicornApplication
from tests.factories import RideFactory, UnicornFactory, ride_in_progress

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_browser(client, operator):
    client.force_login(operator)
    return client


def test_operator_sees_the_fleet_and_adds_a_unicorn(operator_browser):
    UnicornFactory(name="Shadowfax")
    assert b"Shadowfax" in operator_browser.get("/admin/rides/unicorn/").content
    response = operator_browser.post(
        "/admin/rides/unicorn/add/",
        {
            "name": "Glitter",
            "color": "pink",
            "gender": "female",
            "latitude": "47.61",
            "longitude": "-122.33",
            "on_duty": "on",
        },
    )
    assert response.status_code == 302
    assert Unicorn.objects.get(name="Glitter").is_available


def test_operator_edits_a_unicorn(operator_browser):
    unicorn = UnicornFactory(name="Blaze", on_duty=True)
    response = operator_browser.post(
        f"/admin/rides/unicorn/{unicorn.pk}/change/",
        {
            "name": "Blaze",
            "color": "red",
            "gender": "male",
            "latitude": "47.6",
            "longitude": "-122.3",
        },
    )
    assert response.status_code == 302
    unicorn.refresh_from_db()
    assert (unicorn.color, unicorn.on_duty) == ("red", False)


def test_ride_list_filters_by_status_and_searches_rider_email(operator_browser, rider):
    RideFactory(rider=rider)
    RideFactory(status=Ride.Status.CANCELLED)
    page = operator_browser.get("/admin/rides/ride/", {"status__exact": "assigned"})
    assert page.status_code == 200
    assert page.context["cl"].result_count == 1
    page = operator_browser.get("/admin/rides/ride/", {"q": rider.email})
    assert page.context["cl"].result_count == 1


def test_admin_cancel_action_goes_through_the_service(operator_browser):
    assigned = RideFactory()
    done = RideFactory(status=Ride.Status.COMPLETED)
    response = operator_browser.post(
        "/admin/rides/ride/",
        {
            "action": "cancel_selected_rides",
            "_selected_action": [assigned.pk, done.pk],
            "post": "yes",
        },  # "Yes, cancel" on the question (tests/admin/test_operator_day.py)
        follow=True,
    )
    messages = [str(m) for m in response.context["messages"]]
    assert "Cancelled 1 ride(s)." in messages
    assert any("already completed" in m for m in messages)
    assigned.refresh_from_db()
    assert assigned.status == "cancelled"
    assert (
        assigned.unicorn.is_available is False
        or Unicorn.objects.get(
            pk=assigned.unicorn_pk if hasattr(assigned, "unicorn_pk") else assigned.unicorn_id
        ).is_available
    )


def test_ride_audit_fields_are_read_only(operator_browser):
    ride = RideFactory()
    page = operator_browser.get(f"/admin/rides/ride/{ride.pk}/change/")
    assert page.status_code == 200
    form_fields = page.context["adminform"].form.fields
    assert "fare_minor" not in form_fields
    assert "status" not in form_fields


def test_rider_cannot_open_the_admin(client, rider):
    client.force_login(rider)
    response = client.get("/admin/rides/ride/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_accepting_an_application_adds_an_off_duty_unicorn(operator_browser, api):
    api.post(
        "/api/unicorn-applications/",
        {"name": "Nimbus", "color": "grey", "gender": "male", "email": "nimbus@example.com"},
    )
    application = UnicornApplication.objects.get()
    operator_browser.post(
        "/admin/rides/unicornapplication/",
        {"action": "accept_applications", "_selected_action": [application.pk]},
    )
    unicorn = Unicorn.objects.get(name="Nimbus")
    assert not unicorn.on_duty
    application.refresh_from_db()
    assert application.status == "accepted"
    assert application.unicorn == unicorn


def test_seed_demo_twice_does_not_duplicate(settings):
    settings.DEMO_DATA_ALLOWED = True
    call_command("seed_demo")
    counts = (Unicorn.objects.count(), User.objects.count(), Ride.objects.count())
    call_command("seed_demo")
    assert (Unicorn.objects.count(), User.objects.count(), Ride.objects.count()) == counts
    assert counts[0] >= 10
    names = set(Unicorn.objects.values_list("name", flat=True))
    assert {"Bucephalus", "Shadowfax", "Rocinante"} <= names
    operator = User.objects.get(email="operator@example.com")
    assert operator.is_staff and operator.groups.filter(name="Operators").exists()
    assert operator.check_password("wildrydes-demo")


def test_seed_demo_gives_the_demo_rider_finished_rides_with_receipts(settings):
    settings.DEMO_DATA_ALLOWED = True
    call_command("seed_demo")
    rides = Ride.objects.filter(rider__email="rider@example.com")
    assert [ride.status for ride in rides] == [Ride.Status.COMPLETED] * 2
    assert len(fare_payment_ids([ride.id for ride in rides])) == 2  # charged, with receipts
    assert Unicorn.objects.filter(is_available=True).count() == Unicorn.objects.count()


def test_a_reference_finds_its_ride_with_or_without_the_prefix(operator_browser):
    ride = RideFactory(reference="WR-7K3Q9P")
    RideFactory()
    for term in ("WR-7K3Q9P", "7k3q9p", " wr-7k3q9p "):
        page = operator_browser.get("/admin/rides/ride/", {"q": term})
        assert [r.pk for r in page.context["cl"].result_list] == [ride.pk], term


def test_the_ride_list_shows_short_columns_and_no_uuid(operator_browser, rider):
    ride = RideFactory(rider=rider, status=Ride.Status.CANCELLED)
    page = operator_browser.get("/admin/rides/ride/")
    html = page.content.decode()
    assert page.context["cl"].list_display[1:] == [
        "reference", "status", "unicorn", "rider_email", "fare_display", "age",
    ]  # fmt: skip
    assert ride.reference in html
    assert f">{ride.id}<" not in html  # the id is only an attribute, never a cell
    assert "not charged" in html
    # The rider's e-mail is cut where its column ends (admin-site.css); the title holds it.
    assert f'<span class="cut" title="{rider.email}">{rider.email}</span>' in html


def test_a_ride_requested_ten_minutes_ago_is_ten_minutes_old(operator_browser):
    """The age column turned "10 minutes" into "1new" (it replaced "0 minutes" inside it)."""
    for minutes, age in [(0, "new"), (10, "10\xa0minutes"), (20, "20\xa0minutes")]:
        ride = RideFactory()
        Ride.objects.filter(pk=ride.pk).update(
            requested_at=timezone.now() - timezone.timedelta(minutes=minutes, seconds=5)
        )
        html = operator_browser.get("/admin/rides/ride/", {"q": ride.reference}).content
        assert f'<td class="field-age">{age}</td>' in html.decode(), minutes


def test_rides_needing_attention(operator_browser):
    now = timezone.now()
    waiting = RideFactory(
        status=Ride.Status.ARRIVED,
        arrives_at=now - timedelta(minutes=4),
        arrived_at=now - timedelta(minutes=4),
    )
    RideFactory(status=Ride.Status.ARRIVED, arrives_at=now - timedelta(seconds=10))
    expired = RideFactory(status=Ride.Status.EXPIRED, expired_at=now - timedelta(hours=1))
    RideFactory(status=Ride.Status.EXPIRED, expired_at=now - timedelta(days=3))
    stuck = ride_in_progress()
    Ride.objects.filter(pk=stuck.pk).update(boarded_at=now - timedelta(hours=5))
    RideFactory()  # on its way, on time

    def found(kind):
        page = operator_browser.get("/admin/rides/ride/", {"attention": kind})
        return {r.pk for r in page.context["cl"].result_list}

    assert found("any") == {waiting.pk, expired.pk, stuck.pk}
    assert found("waiting") == {waiting.pk}
    assert found("stuck") == {stuck.pk}
    assert found("expired") == {expired.pk}


def test_the_list_records_arrivals_and_no_shows_before_showing_them(operator_browser):
    ride = RideFactory(arrives_at=timezone.now() - timedelta(hours=1))
    page = operator_browser.get("/admin/rides/ride/")
    assert page.context["cl"].result_list[0].status == "expired"
    ride.refresh_from_db()
    assert ride.status == "expired"


def test_an_admin_cancellation_reaches_the_rider(operator_browser, rider):
    ride = RideFactory(rider=rider)
    with_callbacks = operator_browser.post(
        "/admin/rides/ride/",
        {"action": "cancel_selected_rides", "_selected_action": [ride.pk], "post": "yes"},
    )
    assert with_callbacks.status_code == 302
    event = OutboxEvent.objects.get(type="rides.RideCancelled")
    assert event.data["by_operator"] is True
    assert event.data["reference"] == ride.reference


def test_the_admin_home_links_the_dashboard_as_a_normal_link(operator_browser):
    html = operator_browser.get("/admin/").content.decode()
    assert '<p class="operations-link"><a href="/admin/bi/dailyaggregate/dashboard/">' in html
    assert "?attention=any" in html


def test_the_search_box_has_a_label(operator_browser):
    html = operator_browser.get("/admin/rides/ride/").content.decode()
    assert '<span class="visually-hidden">Search rides</span></label>' in html
    assert "rides/admin-site.css" in html


@pytest.mark.parametrize(
    ("name", "color"),
    [("Glitter", "\u202eetihw"), ("Glit\u202eter", "pink"), ("Glitter\nPaid: $0", "pink")],
)
def test_an_operator_cannot_name_a_unicorn_with_hidden_characters(operator_browser, name, color):
    """A right-to-left override in a name or colour showed every rider's notification about
    the unicorn backwards; a line break forged lines in e-mails."""
    body = {"name": name, "color": color, "gender": "female"}
    response = operator_browser.post(
        "/admin/rides/unicorn/add/", {**body, "latitude": "47.61", "longitude": "-122.33"}
    )
    assert response.status_code == 200
    assert "no line breaks, tabs or text-direction characters" in response.content.decode()
    assert not Unicorn.objects.exists()


def test_an_operator_names_a_unicorn_in_any_script(operator_browser):
    body = {"name": "Ключ 星 نجمة", "color": "białe", "gender": "female"}
    response = operator_browser.post(
        "/admin/rides/unicorn/add/", {**body, "latitude": "47.61", "longitude": "-122.33"}
    )
    assert response.status_code == 302
    assert Unicorn.objects.get().name == "Ключ 星 نجمة"
