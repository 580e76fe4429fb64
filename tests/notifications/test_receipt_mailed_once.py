"""A completed ride's receipt reaches the rider's mailbox once, even when the notifications
subscriber fails on another event delivered with it: the failed attempt is rolled back and
the events are tried again one by one, and what the rolled-back attempt sent by e-mail
cannot be rolled back. So the e-mail goes when the delivery commits, and a mail service
that refuses it takes nothing else back (real commits: transactional tests)."""

from unittest import mock

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import IntegrityError
from django.test import override_settings

from events import relay
from events.models import Delivery
from notifications import subscribers
from notifications.models import Notification
from payments import services as payments
from rides import services as rides
from tests.factories import UnicornFactory, UserFactory, arrive_now

pytestmark = pytest.mark.django_db(transaction=True)


def completed_ride(rider):
    UnicornFactory(name="Bucephalus")
    ride = rides.request_ride(rider=rider, pickup=rides.Point(47.6062, -122.3321))
    arrive_now(ride)
    rides.board_ride(ride=ride, by=rider)
    return rides.complete_ride(ride=ride, by=rider)


def failing_for(reference, error):
    """The notifications subscriber, failing on one payment (in a batch or alone)."""
    real = subscribers.payment_message

    def payment_message(event_type, data, **kwargs):
        if data["reference"] == reference:
            raise error
        return real(event_type, data, **kwargs)

    return mock.patch.object(subscribers, "payment_message", payment_message)


@pytest.mark.parametrize(
    "error",
    [
        IntegrityError('duplicate key value violates unique constraint "notification_once"'),
        ValueError("boom"),
    ],
    ids=["IntegrityError", "ValueError"],
)
def test_a_receipt_is_mailed_once_when_its_batch_fails_on_another_event(error):
    rider, payer = UserFactory(), UserFactory()
    with override_settings(EVENTS_DELIVERY="relay"):  # the relay's backlog: one batch
        ride = completed_ride(rider)
        payments.register_payment(
            amount_minor=1250, currency="USD", reference="INV-BROKEN", payer=payer, actor="test"
        )

    with failing_for("INV-BROKEN", error):
        relay.relay_events()

    receipts = [m for m in mail.outbox if ride.reference in m.subject]
    assert len(receipts) == 1
    assert receipts[0].to == [rider.email]
    # assigned, arrived, boarded, the fare payment, the receipt: each once
    assert Notification.objects.filter(user=rider).count() == 5
    failed = Delivery.objects.get(subscriber="notifications", status="pending")
    assert failed.event.data["reference"] == "INV-BROKEN"
    assert not Notification.objects.filter(user=payer).exists()


class RefusingBackend(EmailBackend):
    """Like SES in its sandbox: the address is not verified."""

    def send_messages(self, messages):
        raise ConnectionRefusedError("Email address is not verified.")


def test_a_refused_receipt_leaves_the_ride_completed_and_the_rider_told(settings, caplog):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    rider = UserFactory()

    ride = completed_ride(rider)  # delivered inline, after its commit

    assert Notification.objects.filter(user=rider, event_type="rides.RideCompleted").exists()
    assert not Delivery.objects.exists()  # nothing failed that a retry would send again
    assert "Email address is not verified" in caplog.text
    assert ride.payments.count() == 1


def test_a_refused_receipt_is_logged_with_its_ride(settings, caplog):
    """Not retried, so the log is the only trace an operator has to send it again: it
    names the ride (its reference, the rider's receipt number), not only the error."""
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    rider = UserFactory()

    ride = completed_ride(rider)

    [record] = [r for r in caplog.records if "Email address is not verified" in r.getMessage()]
    assert record.levelname == "ERROR"
    assert ride.reference in record.getMessage()
