"""A rider's notifications read in the order things happened, whatever order their events
reach the notifications subscriber in.

On AWS the events come through an SQS standard queue, which hands messages over in any
order (and a message again after its visibility timeout); locally a failed delivery is
retried later while the next events go through. Here the events a payment and a ride really
emitted are handed to the subscriber's queue handler as SAM CLI's SQS sample records (see
tests/events/test_sqs_batches.py), newest first, then again.
"""

import pytest

from bi.models import DailyAggregate
from events import aws
from events.models import OutboxEvent
from payments import services as payments
from rides import services as rides
from tests.conftest import client_for
from tests.events.test_sqs_batches import batch, failed_ids, sam_record, sns_body
from tests.factories import FinanceFactory, RideFactory, UserFactory, arrive_now

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _events_wait_for_the_queue(settings):
    settings.EVENTS_DELIVERY = "relay"  # nothing delivered inline: the test hands them over


def newest_first(*types: str) -> list[dict]:
    """The outbox's events of these types, newest first, as the subscriber receives them."""
    events = OutboxEvent.objects.filter(type__in=types).order_by("-occurred_at")
    return [event.envelope() for event in events]


def deliver(subscriber: str, envelopes: list[dict]) -> None:
    records = [sam_record(sns_body(e), subscriber=subscriber) for e in envelopes]
    assert failed_ids(aws.handle_sqs_event(batch(*records))) == []


def told(rider) -> list[str]:
    answer = client_for(rider).get("/api/notifications/").json()
    return [item["message"] for item in answer["results"]]


def test_a_payment_deleted_before_its_registration_came_reads_cancelled_last():
    rider, finance = UserFactory(), FinanceFactory()
    payment = payments.register_payment(
        amount_minor=1250, currency="EUR", reference="INV-7", actor=finance, payer=rider
    )
    payments.delete_payment(payment=payment, actor=finance)
    deleted, registered = newest_first("payments.PaymentDeleted", "payments.PaymentRegistered")

    for subscriber in ("notifications", "bi"):
        deliver(subscriber, [deleted])
        deliver(subscriber, [registered])
        deliver(subscriber, [registered, deleted])  # both again, after their timeouts

    assert told(rider) == ["Payment of €12.50 cancelled", "Payment of €12.50 registered"]
    [day] = DailyAggregate.objects.all()
    assert (day.currency, day.payments_registered, day.payments_deleted) == ("EUR", 1, 1)
    assert (day.payments_registered_minor, day.payments_deleted_minor) == (1250, 1250)


def test_a_ride_whose_events_come_newest_first_reads_in_the_order_it_happened():
    ride = RideFactory()
    arrive_now(ride)
    ride = rides.settle_ride(ride)
    ride = rides.board_ride(ride=ride, by=ride.rider)
    rides.complete_ride(ride=ride, by=ride.rider)
    kinds = ["rides.RideArrived", "rides.RideBoarded", "rides.RideCompleted"]
    envelopes = newest_first(*kinds)
    assert [e["type"] for e in envelopes] == kinds[::-1]

    deliver("notifications", envelopes)  # one batch, newest first

    answer = client_for(ride.rider).get("/api/notifications/").json()
    assert [item["kind"] for item in answer["results"]] == kinds[::-1]
