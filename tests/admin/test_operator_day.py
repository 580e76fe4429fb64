"""An operator's busy day in the admin: a rider whose unicorn never came (cancel the ride,
waive a fee), a unicorn stuck "not available" with no ride (free it). Each action asks
first on a page that says what will change, then goes through the rides service the
API uses, says what it did, and refuses a second time or a ride in the wrong state."""

import pytest

from events.models import OutboxEvent
from payments.models import Payment
from rides import services
from rides.models import Ride, Unicorn
from tests.admin.conftest import messages_of, signed_in
from tests.factories import (
    FinanceFactory,
    OperatorFactory,
    RideFactory,
    UnicornFactory,
    UserFactory,
    arrive_now,
)

pytestmark = pytest.mark.django_db

RIDES = "/admin/rides/ride/"
UNICORNS = "/admin/rides/unicorn/"
HOSTILE = "<img src=x onerror=alert(1)>"


def act(client, url, action, objects, **extra):
    return client.post(
        url, {"action": action, "_selected_action": [o.pk for o in objects], **extra}, follow=True
    )


def ride_with_fee(rider=None) -> Ride:
    """A rider who cancelled after the unicorn arrived: the fee, registered as a payment."""
    rider = rider or UserFactory()
    ride = RideFactory(rider=rider)
    arrive_now(ride)
    return services.cancel_ride(ride=ride, by=rider)


def fee_payment(ride) -> Payment:
    return Payment.objects.get(ride=ride, reference__endswith="-fee")


# --- "My unicorn never came": cancel -------------------------------------------------------


def test_cancelling_a_ride_asks_first_and_changes_nothing_until_confirmed(operator_client):
    ride = RideFactory(unicorn__name="Shadowfax")
    page = act(operator_client, RIDES, "cancel_selected_rides", [ride])
    html = page.content.decode()
    assert "Cancel these rides?" in html
    assert f"cancel {ride.reference} (assigned, {ride.rider.email}), free of charge" in html
    assert "Shadowfax is freed and the rider is told" in html
    assert 'value="Yes, cancel 1 ride"' in html
    ride.refresh_from_db()
    assert ride.status == Ride.Status.ASSIGNED  # asked, not done
    assert not OutboxEvent.objects.filter(type=services.RIDE_CANCELLED).exists()

    done = act(operator_client, RIDES, "cancel_selected_rides", [ride], post="yes")
    assert "Cancelled 1 ride(s)." in messages_of(done)
    ride.refresh_from_db()
    assert (ride.status, ride.cancellation_fee_minor) == (Ride.Status.CANCELLED, 0)
    assert Unicorn.objects.get(pk=ride.unicorn_id).is_available
    assert not Payment.objects.filter(ride=ride).exists()  # free of charge: no fee payment


def test_a_ride_cancelled_once_is_refused_the_second_time(operator_client):
    ride = RideFactory()
    act(operator_client, RIDES, "cancel_selected_rides", [ride], post="yes")
    again = act(operator_client, RIDES, "cancel_selected_rides", [ride])
    # Nothing left to cancel: no question, the refusal with the ride's reference.
    assert "Cancel these rides?" not in again.content.decode()
    assert messages_of(again) == [
        f"{ride.reference}: This ride is already cancelled; it cannot be cancelled."
    ]
    # Confirmed twice (a double click on "Yes"): the second is refused as well.
    twice = act(operator_client, RIDES, "cancel_selected_rides", [ride], post="yes")
    assert "already cancelled" in messages_of(twice)[0]
    assert OutboxEvent.objects.filter(type=services.RIDE_CANCELLED).count() == 1


def test_the_question_says_which_selected_rides_are_left_and_why(operator_client):
    going, done = RideFactory(), RideFactory(status=Ride.Status.COMPLETED)
    html = act(operator_client, RIDES, "cancel_selected_rides", [going, done]).content.decode()
    assert "Left as they are:" in html
    assert f"{done.reference} (completed, {done.rider.email}): it cannot be cancelled" in html
    # Only the active ride goes on to the confirmed action.
    assert f'name="_selected_action" value="{going.pk}"' in html
    assert f'name="_selected_action" value="{done.pk}"' not in html


def test_cancelling_every_active_ride_across_pages_asks_once_for_them_all(operator_client):
    rides = [RideFactory() for _ in range(3)]
    everything = {"select_across": "1", "index": "0"}
    page = act(operator_client, RIDES + "?active=yes", "cancel_selected_rides", rides[:1],
               **everything)  # fmt: skip
    assert 'value="Yes, cancel 3 rides"' in page.content.decode()
    act(operator_client, RIDES + "?active=yes", "cancel_selected_rides", rides[:1],
        post="yes", **everything)  # fmt: skip
    assert set(Ride.objects.values_list("status", flat=True)) == {Ride.Status.CANCELLED}


# --- Waive a fee -----------------------------------------------------------------------


def test_waiving_a_fee_asks_first_then_deletes_the_fee_payment_through_the_service(
    operator_client, operator
):
    ride = ride_with_fee()
    assert ride.cancellation_fee_minor == 500
    page = act(operator_client, RIDES, "waive_fees", [ride])
    html = page.content.decode()
    assert "Waive these fees?" in html
    assert f"waive the $5.00 fee of {ride.reference} (cancelled, {ride.rider.email})" in html
    ride.refresh_from_db()
    assert ride.cancellation_fee_minor == 500  # asked, not done

    done = act(operator_client, RIDES, "waive_fees", [ride], post="yes")
    assert "Waived the fee of 1 ride(s)." in messages_of(done)
    ride.refresh_from_db()
    assert ride.cancellation_fee_minor == 0
    payment = fee_payment(ride)
    assert (payment.status, payment.deleted_by) == (Payment.Status.DELETED, operator.email)
    event = OutboxEvent.objects.get(type=services.RIDE_FEE_WAIVED)
    assert (event.data["waived_minor"], event.data["by"]) == (500, operator.email)
    # The list says so too.
    listed = operator_client.get(RIDES, {"q": ride.reference}).content.decode()
    assert "not charged" in listed

    again = act(operator_client, RIDES, "waive_fees", [ride], post="yes")
    assert messages_of(again) == [
        f"{ride.reference}: This ride has no fee to waive (already waived, or never charged)."
    ]
    assert OutboxEvent.objects.filter(type=services.RIDE_FEE_WAIVED).count() == 1


def test_an_expired_ride_s_fee_can_be_waived(operator_client):
    ride = RideFactory()
    Ride.objects.filter(pk=ride.pk).update(
        arrives_at=ride.arrives_at - services.lifecycle.boarding_window() * 3
    )
    ride = services.settle_ride(Ride.objects.get(pk=ride.pk))
    assert (ride.status, ride.cancellation_fee_minor) == (Ride.Status.EXPIRED, 500)
    act(operator_client, RIDES, "waive_fees", [ride], post="yes")
    ride.refresh_from_db()
    assert ride.cancellation_fee_minor == 0
    assert fee_payment(ride).status == Payment.Status.DELETED


def test_a_fee_finance_verified_is_not_waived(operator_client):
    ride = ride_with_fee()
    Payment.objects.filter(pk=fee_payment(ride).pk).update(status=Payment.Status.VERIFIED)
    done = act(operator_client, RIDES, "waive_fees", [ride], post="yes")
    assert messages_of(done) == [
        f"{ride.reference}: Its fee was already verified as paid: finance refunds it; "
        "it cannot be waived."
    ]
    ride.refresh_from_db()
    assert ride.cancellation_fee_minor == 500
    assert fee_payment(ride).status == Payment.Status.VERIFIED


def test_a_ride_still_going_has_no_fee_to_waive(operator_client):
    ride = RideFactory(cancellation_fee_minor=500)  # wrong state, whatever its fields say
    done = act(operator_client, RIDES, "waive_fees", [ride], post="yes")
    assert messages_of(done) == [
        f"{ride.reference}: This ride is assigned: only the fee of a cancelled or expired ride "
        "can be waived."
    ]
    ride.refresh_from_db()
    assert (ride.status, ride.cancellation_fee_minor) == (Ride.Status.ASSIGNED, 500)


def test_a_rider_cannot_waive_their_own_fee_through_the_service():
    ride = ride_with_fee()
    with pytest.raises(services.DomainError, match="Only an operator"):
        services.waive_cancellation_fee(ride=ride, by=ride.rider)


# --- A unicorn stuck "not available" ------------------------------------------------------


def stuck_unicorn(**kwargs) -> Unicorn:
    """Marked busy, on no active ride (its last ride ended without freeing it)."""
    unicorn = UnicornFactory(is_available=False, **kwargs)
    RideFactory(unicorn=unicorn, status=Ride.Status.COMPLETED)
    return unicorn


def test_the_fleet_list_finds_stuck_unicorns_and_says_which_ride_holds_the_others(
    operator_client,
):
    stuck = stuck_unicorn(name="Stuck Sam")
    busy = RideFactory(unicorn__name="Busy Bea")
    UnicornFactory(name="Free Fay")
    page = operator_client.get(UNICORNS, {"stuck": "yes"})
    assert [u.name for u in page.context["cl"].result_list] == [stuck.name]
    assert "stuck: on no ride" in page.content.decode()
    everyone = operator_client.get(UNICORNS).content.decode()
    assert f'href="/admin/rides/ride/{busy.pk}/change/">{busy.reference}</a>' in everyone


def test_freeing_a_stuck_unicorn_asks_first_then_frees_it_once(operator_client, operator):
    stuck = stuck_unicorn(name="Stuck Sam")
    busy = RideFactory(unicorn__name="Busy Bea")
    page = act(operator_client, UNICORNS, "free_stuck_unicorns", [stuck, busy.unicorn])
    html = page.content.decode()
    assert "Free these unicorns?" in html
    assert "free Stuck Sam: dispatch may send it on rides again" in html
    assert f"Busy Bea: on ride {busy.reference}" in html
    assert not Unicorn.objects.get(pk=stuck.pk).is_available  # asked, not done

    done = act(operator_client, UNICORNS, "free_stuck_unicorns", [stuck], post="yes")
    assert messages_of(done) == ["Freed 1 unicorn(s)."]
    assert Unicorn.objects.get(pk=stuck.pk).is_available
    event = OutboxEvent.objects.get(type=services.UNICORN_FREED)
    assert event.data == {"unicorn_id": stuck.pk, "unicorn": "Stuck Sam", "by": operator.email}

    again = act(operator_client, UNICORNS, "free_stuck_unicorns", [stuck], post="yes")
    assert messages_of(again) == ["Stuck Sam: Stuck Sam is already free for rides."]
    assert OutboxEvent.objects.filter(type=services.UNICORN_FREED).count() == 1


def test_a_unicorn_on_a_ride_is_not_freed(operator_client):
    busy = RideFactory(unicorn__name="Busy Bea")
    done = act(operator_client, UNICORNS, "free_stuck_unicorns", [busy.unicorn], post="yes")
    assert messages_of(done) == [
        f"Busy Bea: Busy Bea is on ride {busy.reference} (assigned): cancel or complete "
        "that ride, which frees the unicorn."
    ]
    assert not Unicorn.objects.get(pk=busy.unicorn_id).is_available


# --- Who may, and hostile text ---------------------------------------------------------------

ACTIONS = [
    (RIDES, "cancel_selected_rides", lambda: RideFactory()),
    (RIDES, "waive_fees", ride_with_fee),
    (UNICORNS, "free_stuck_unicorns", stuck_unicorn),
]


@pytest.mark.parametrize(("url", "action", "make"), ACTIONS, ids=[a for _, a, _ in ACTIONS])
def test_finance_may_not_run_the_operators_actions(url, action, make):
    target = make()
    before = OutboxEvent.objects.count()
    client = signed_in(FinanceFactory())
    for confirm in ({}, {"post": "yes"}):
        response = client.post(url, {"action": action, "_selected_action": [target.pk], **confirm})
        assert response.status_code == 403
    assert OutboxEvent.objects.count() == before


@pytest.mark.parametrize(("url", "action", "make"), ACTIONS, ids=[a for _, a, _ in ACTIONS])
def test_a_rider_is_sent_to_the_admin_sign_in(url, action, make):
    target = make()
    client = signed_in(UserFactory())
    response = client.post(url, {"action": action, "_selected_action": [target.pk]})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize(("url", "action", "make"), ACTIONS, ids=[a for _, a, _ in ACTIONS])
def test_operators_of_either_organization_and_the_superuser_may(url, action, make, superuser):
    # Rides and the fleet are not an organization's: any operator (members of two
    # organizations here) and the superuser see the question and can confirm it.
    from tests.factories import OrganizationFactory

    first, second = OperatorFactory(), OperatorFactory()
    OrganizationFactory().members.add(first)
    OrganizationFactory().members.add(second)
    for user in (first, second, superuser):
        target = make()
        client = signed_in(user)
        asked = client.post(url, {"action": action, "_selected_action": [target.pk]})
        assert asked.status_code == 200 and 'name="post" value="yes"' in asked.content.decode()
        done = act(client, url, action, [target], post="yes")
        assert messages_of(done)[0].startswith(("Cancelled 1", "Waived the fee of 1", "Freed 1"))


def test_hostile_names_are_text_on_the_question_and_in_the_ride_column(operator_client):
    stuck = stuck_unicorn(name=HOSTILE)
    busy = RideFactory(unicorn__name=HOSTILE + "2", rider__full_name=HOSTILE)
    pages = [
        act(operator_client, UNICORNS, "free_stuck_unicorns", [stuck, busy.unicorn]),
        act(operator_client, RIDES, "cancel_selected_rides", [busy]),
        operator_client.get(UNICORNS),
    ]
    for page in pages:
        html = page.content.decode()
        assert "<img src=x" not in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html


# --- The ride's own page -------------------------------------------------------------------


def test_a_ride_s_page_offers_what_may_be_done_to_it_now(operator_client, superuser):
    going, with_fee = RideFactory(), ride_with_fee()
    done = RideFactory(status=Ride.Status.COMPLETED)
    for client in (operator_client, signed_in(superuser)):
        pages = {r: client.get(f"{RIDES}{r.pk}/change/").content.decode()
                 for r in (going, with_fee, done)}  # fmt: skip
        assert ">Cancel this ride</button>" in pages[going]
        assert "Waive its fee" not in pages[going]
        assert ">Waive its fee</button>" in pages[with_fee]
        assert "Cancel this ride" not in pages[with_fee]
        assert "Cancel this ride" not in pages[done] and "Waive its fee" not in pages[done]
    # The button runs the list's action on this ride alone: the question first.
    asked = act(operator_client, RIDES, "cancel_selected_rides", [going])
    assert "Cancel these rides?" in asked.content.decode()


def test_a_ride_s_page_says_in_which_time_its_times_are(operator_client, settings):
    ride = RideFactory()
    html = operator_client.get(f"{RIDES}{ride.pk}/change/").content.decode()
    assert f"Times are the service area's ({settings.TIME_ZONE})." in html


def test_duty_changed_on_a_unicorn_s_page_is_reported_like_the_list_s_action(
    operator_client, operator
):
    unicorn = UnicornFactory(name="Blaze", on_duty=True)
    form = {"name": "Blaze", "color": "red", "gender": "male", "latitude": "47.6",
            "longitude": "-122.3"}  # on_duty unticked  # fmt: skip
    assert operator_client.post(f"{UNICORNS}{unicorn.pk}/change/", form).status_code == 302
    unicorn.refresh_from_db()
    assert (unicorn.color, unicorn.on_duty) == ("red", False)
    event = OutboxEvent.objects.get(type=services.UNICORN_DUTY_CHANGED)
    assert event.data == {"unicorn_id": unicorn.pk, "unicorn": "Blaze", "on_duty": False,
                          "by": operator.email}  # fmt: skip
    # The colour alone: no duty event.
    operator_client.post(f"{UNICORNS}{unicorn.pk}/change/", {**form, "color": "gold"})
    assert OutboxEvent.objects.filter(type=services.UNICORN_DUTY_CHANGED).count() == 1


def test_the_add_unicorn_page_draws_with_its_ride_now_line(operator_client):
    page = operator_client.get(f"{UNICORNS}add/")
    assert page.status_code == 200
    assert "Ride now" in page.content.decode()
