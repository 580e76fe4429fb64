"""A waived fee, attacked: only an operator waives it, once, never a fee finance verified;
another rider sees neither the waiver nor its reason (receipt page, payments API); two
operators waiving at the same moment waive it once (one event, one notification)."""

import pytest
from django.test import Client

from events.models import OutboxEvent
from payments import services as payments
from payments.events import PAYMENT_DELETED
from payments.models import Payment
from rides import services as rides
from rides.models import Ride
from tests.concurrency import all_at_once
from tests.conftest import client_for
from tests.factories import OperatorFactory, RideFactory, UnicornFactory, UserFactory, arrive_now

RIDES = "/admin/rides/ride/"
WAIVE = {"action": "waive_fees", "post": "yes"}


def cancelled_late(rider=None):
    rider = rider or UserFactory()
    ride = RideFactory(rider=rider, unicorn=UnicornFactory(is_available=False))
    arrive_now(ride)
    return rides.cancel_ride(ride=ride, by=rider)


def fee_of(ride) -> Payment:
    return Payment.objects.get(reference=payments.ride_charge_reference(ride, "fee"))


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_finance_and_riders_cannot_waive_a_fee(finance):
    ride = cancelled_late()
    for user in (finance, ride.rider, UserFactory()):
        client = signed_in(user)
        response = client.post(RIDES, {**WAIVE, "_selected_action": [ride.pk]})
        assert response.status_code in (302, 403), (user, response.status_code)
    ride.refresh_from_db()
    assert ride.cancellation_fee_minor == 500
    assert fee_of(ride).status == Payment.Status.REGISTERED
    with pytest.raises(Exception, match="Only an operator"):
        rides.waive_cancellation_fee(ride=ride, by=ride.rider)


@pytest.mark.django_db
def test_another_rider_sees_neither_the_waived_fee_nor_its_reason(operator):
    ride = cancelled_late()
    rides.waive_cancellation_fee(ride=ride, by=operator)
    stranger = UserFactory()
    receipt = signed_in(stranger).get(f"/history/{ride.pk}/")
    assert receipt.status_code == 404
    assert b"waived" not in receipt.content.lower()
    listed = client_for(stranger).get("/api/payments/").json()
    assert listed["count"] == 0, listed
    assert client_for(stranger).get(f"/api/payments/{fee_of(ride).id}/").status_code == 404
    owner = client_for(ride.rider).get("/api/payments/").json()["results"]
    assert [p["deletion_reason"] for p in owner] == ["fee_waived"]


@pytest.mark.django_db
def test_a_fee_finance_verified_is_not_waived_and_a_waived_fee_not_twice(operator, finance):
    ride = cancelled_late()
    payments.verify_payment(payment=fee_of(ride), actor=finance)
    with pytest.raises(Exception, match="already verified as paid"):
        rides.waive_cancellation_fee(ride=ride, by=operator)
    assert fee_of(ride).status == Payment.Status.VERIFIED
    other = cancelled_late()
    rides.waive_cancellation_fee(ride=other, by=operator)
    with pytest.raises(Exception, match="no fee to waive"):
        rides.waive_cancellation_fee(ride=other, by=operator)
    assert OutboxEvent.objects.filter(type=PAYMENT_DELETED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_operators_waiving_at_once_waive_it_once():
    ride = cancelled_late()
    operators = iter([OperatorFactory(), OperatorFactory()])

    def waive():
        client = signed_in(next(operators))
        return client.post(RIDES, {**WAIVE, "_selected_action": [ride.pk]}, follow=True)

    answers = all_at_once(2, waive)
    assert all(a.status_code == 200 for a in answers)
    ride = Ride.objects.get(pk=ride.pk)
    assert ride.cancellation_fee_minor == 0
    assert fee_of(ride).deletion_reason == Payment.DeletionReason.FEE_WAIVED
    assert OutboxEvent.objects.filter(type=PAYMENT_DELETED).count() == 1
    assert OutboxEvent.objects.filter(type=rides.RIDE_FEE_WAIVED).count() == 1
