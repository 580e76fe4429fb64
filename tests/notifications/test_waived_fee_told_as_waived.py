"""A fee an operator waives is told as waived: the rider reads that they owe nothing for it
(not "Payment of $5.00 cancelled"), finance's payment page says it was waived and by whom,
and the PaymentDeleted event carries the reason, so BI and notifications can tell a waiver
from a deletion. Events written before the reason existed still read as deletions."""

import html
import uuid
from datetime import datetime

import pytest
from django.utils.html import escape

from accounts.models import User
from events.models import OutboxEvent
from notifications import subscribers
from notifications.models import Notification
from payments import services as payments
from payments.events import PAYMENT_DELETED
from payments.models import Payment
from rides import services as rides
from tests.admin.conftest import messages_of, signed_in
from tests.conftest import client_for
from tests.factories import RideFactory, UnicornFactory, UserFactory, arrive_now

pytestmark = pytest.mark.django_db

HOSTILE = "<img src=x onerror=alert(1)>"
RIDES = "/admin/rides/ride/"
PAYMENTS = "/admin/payments/payment/"


def cancelled_late(clock, unicorn_name: str):
    """A rider who cancelled at 18:00 on 7 December 2026 (Seattle), after the unicorn
    arrived: the $5.00 fee, registered as a payment."""
    clock.set(datetime(2026, 12, 7, 17, 55))
    rider = UserFactory()
    ride = RideFactory(rider=rider, unicorn=UnicornFactory(name=unicorn_name, is_available=False))
    clock.set(datetime(2026, 12, 7, 18, 0))
    arrive_now(ride)
    return rides.cancel_ride(ride=ride, by=rider)


def waived_the_next_morning(clock, ride, operator, capture):
    """The operator waives it on the ride's page (its action, confirmed) on 8 December."""
    clock.set(datetime(2026, 12, 8, 9, 30))
    with capture(execute=True):
        done = signed_in(operator).post(
            RIDES,
            {"action": "waive_fees", "_selected_action": [ride.pk], "post": "yes"},
            follow=True,
        )
    assert "Waived the fee of 1 ride(s)." in messages_of(done)


def fee_of(ride) -> Payment:
    return Payment.objects.get(reference=payments.ride_charge_reference(ride, "fee"))


def test_the_rider_reads_that_the_fee_was_waived_and_they_owe_nothing(
    clock, operator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ride = cancelled_late(clock, "Rocinante")
    waived_the_next_morning(clock, ride, operator, django_capture_on_commit_callbacks)

    listed = client_for(ride.rider).get("/api/notifications/").json()["results"]
    newest = listed[0]
    assert newest["message"] == (
        "Your $5.00 fee for the ride with Rocinante on 7 December was waived. "
        "You owe nothing for it."
    )
    assert newest["ride"] == str(ride.pk)  # "See the ride", as the others
    assert not [n for n in listed if "cancelled for your ride" in n["message"]]

    event = OutboxEvent.objects.get(type=PAYMENT_DELETED)
    assert event.data["deletion_reason"] == "fee_waived"
    assert event.data["payment_id"] == str(fee_of(ride).pk)

    # The rider's payments (the API) say so too, not only "deleted".
    paid = client_for(ride.rider).get("/api/payments/").json()["results"]
    assert [(p["amount"], p["status"], p["deletion_reason"]) for p in paid] == [
        ("5.00", "deleted", "fee_waived")
    ]


def test_finance_sees_on_the_payment_that_it_was_waived_and_by_whom(
    clock, operator, finance, django_capture_on_commit_callbacks
):
    ride = cancelled_late(clock, "Rocinante")
    waived_the_next_morning(clock, ride, operator, django_capture_on_commit_callbacks)
    fee = fee_of(ride)
    assert (fee.status, fee.deletion_reason, fee.deleted_by) == (
        Payment.Status.DELETED, Payment.DeletionReason.FEE_WAIVED, operator.email,
    )  # fmt: skip

    finance_admin = signed_in(finance)
    page = finance_admin.get(f"{PAYMENTS}{fee.pk}/change/")
    assert page.status_code == 200
    fields = {
        line.field["name"]: html.unescape(line.contents())
        for fieldset in page.context["adminform"]
        for row in fieldset
        for line in row
    }
    assert fields["status_display"] == "deleted (waived)"
    assert fields["deletion_display"] == (
        f"Fee waived by {operator.email}: the ride's fee was forgiven; the rider owes "
        "nothing for it."
    )
    assert "Deletion reason" in page.content.decode()

    listed = finance_admin.get(PAYMENTS, {"q": ride.reference})
    assert [p.pk for p in listed.context["cl"].result_list] == [fee.pk]
    assert '<td class="field-status_display">deleted (waived)</td>' in listed.content.decode()
    waived_only = finance_admin.get(PAYMENTS, {"deletion_reason__exact": "fee_waived"})
    assert [p.pk for p in waived_only.context["cl"].result_list] == [fee.pk]


def test_a_payment_deleted_by_finance_is_still_told_as_cancelled(finance):
    """A plain deletion keeps its words; its event says there was no particular reason."""
    rider = UserFactory()
    ride = RideFactory(rider=rider, unicorn=UnicornFactory(name="Rocinante", is_available=False))
    payment = payments.register_payment(
        amount_minor=500, currency="USD", reference="INV-9", actor=finance, payer=rider, ride=ride
    )
    payments.delete_payment(payment=payment, actor=finance)
    event = OutboxEvent.objects.get(type=PAYMENT_DELETED)
    assert event.data["deletion_reason"] is None
    subscribers.handle_batch([event.envelope()])
    assert Notification.objects.get(user=rider).message == (
        "Payment of $5.00 cancelled for your ride with Rocinante"
    )


def test_an_event_written_before_the_reason_existed_reads_as_a_deletion():
    """Backward compatible: a PaymentDeleted without deletion_reason (or registered_at),
    from the outbox or a queue before this change, is told as before."""
    rider = UserFactory()
    ride = RideFactory(rider=rider, unicorn=UnicornFactory(name="Rocinante", is_available=False))
    old = {
        "id": str(uuid.uuid4()),
        "type": PAYMENT_DELETED,
        "version": 1,
        "occurred_at": "2026-12-07T18:00:00+00:00",
        "data": {
            "payment_id": str(uuid.uuid4()), "reference": f"ride-{ride.pk}-fee",
            "amount_minor": 500, "currency": "USD", "status": "deleted",
            "ride_id": str(ride.pk), "payer_id": rider.pk, "payer_email": rider.email,
            "organization_id": None,
        },
    }  # fmt: skip
    subscribers.handle_batch([old])
    assert Notification.objects.get(user=rider).message == (
        "Payment of $5.00 cancelled for your ride with Rocinante"
    )


def test_a_hostile_unicorn_name_in_the_waived_notification_stays_text(
    clock, operator, django_capture_on_commit_callbacks
):
    """The message is data: the API hands it as text (the notifications page puts it in
    with textContent), and the admin's notification list escapes it."""
    with django_capture_on_commit_callbacks(execute=True):
        ride = cancelled_late(clock, HOSTILE)
    waived_the_next_morning(clock, ride, operator, django_capture_on_commit_callbacks)

    told = Notification.objects.filter(user=ride.rider).first()
    assert told.message == (
        f"Your $5.00 fee for the ride with {HOSTILE} on 7 December was waived. "
        "You owe nothing for it."
    )
    listed = client_for(ride.rider).get("/api/notifications/").json()["results"]
    assert listed[0]["message"] == told.message

    root = User.objects.create_superuser("root@example.com", "correct-horse-battery")
    page = signed_in(root).get("/admin/notifications/notification/").content.decode()
    assert escape(told.message) in page
    assert HOSTILE not in page
