"""After ImportList's commit the outbox hands on ONE batch of the list's PaymentRegistered
events (events.relay.relay_after_commit), not a whole relay pass: a list of up to a batch
has every payer told by the step, as any payment registered through the API; the rest of
a larger list is the scheduled relay's, which tells each payer once, and BI counts each
payment once. Real commits (transactional tests): the hooks run when the step commits, as
they do in the step's process."""

import pytest
from django.core import mail
from django.db.models import Sum

from bi.models import DailyAggregate
from events import relay
from events.models import OutboxEvent, ProcessedEvent
from notifications.models import Notification
from payment_lists import aws
from payment_lists.models import PaymentList
from payments.models import Payment
from tests.factories import SubscriptionFactory, UserFactory
from tests.payment_lists.lists import run_list, stored_list
from tests.payment_lists.state_machine_runs import TASKS, task
from tests.payment_lists.test_at_least_once import claimed

pytestmark = pytest.mark.django_db(transaction=True)

# More than one batch: two, and a few rows of a third.
ROWS = 2 * relay.RELAY_BATCH + 7
PAYERS = 5
REGISTERED = "payments.PaymentRegistered"


@pytest.fixture(autouse=True)
def _inline_runner(settings):
    settings.PAYMENT_LIST_RUNNER = "inline"


@pytest.fixture
def organization():
    return SubscriptionFactory(
        plan="business", max_rows_per_list=10_000, max_total_minor_per_list=10**9
    ).organization


@pytest.fixture
def payers():
    return UserFactory.create_batch(PAYERS)


def a_list(organization, payers, rows: int, prefix="L") -> PaymentList:
    """A list of `rows` payments of 12.50 USD, its payers taken in turn; its submitter is
    mailed."""
    lines = [f"{prefix}-{n},{payers[n % len(payers)].email},12.50,USD," for n in range(rows)]
    payment_list = stored_list(organization, lines)
    PaymentList.objects.filter(pk=payment_list.pk).update(submitter_email="finance@example.com")
    return payment_list


def state() -> dict:
    """What payers, BI and the submitter have seen of the list's payments so far."""
    registered = OutboxEvent.objects.filter(type=REGISTERED)
    told = Notification.objects.filter(event_type=REGISTERED)
    bi = DailyAggregate.objects.aggregate(n=Sum("payments_registered"))
    return {
        "published": registered.filter(published_at__isnull=False).count(),
        "unpublished": registered.filter(published_at__isnull=True).count(),
        "told": told.count(),
        "bi": bi["n"] or 0,
        "mails": [message.subject for message in mail.outbox],
    }


def at_the_end_of(step_name: str, seen: dict):
    def on_step(step, payload):
        if step.name == step_name:
            seen.update(state())

    return on_step


def assert_each_payment_handed_on_once(payers, rows: int) -> None:
    registered = OutboxEvent.objects.filter(type=REGISTERED)
    assert registered.count() == rows == Payment.objects.count()
    assert not registered.filter(published_at__isnull=True).exists()
    told = Notification.objects.filter(event_type=REGISTERED)
    assert sorted(told.values_list("event_id", flat=True)) == sorted(
        registered.values_list("id", flat=True)
    )  # every payment told, none twice
    for payer in payers[:rows]:  # once for each of their payments (taken in turn)
        assert told.filter(user=payer).count() == Payment.objects.filter(payer=payer).count() > 0
    for subscriber in ("bi", "notifications"):
        processed = ProcessedEvent.objects.filter(subscriber=subscriber)
        assert processed.filter(event_id__in=registered.values("id")).count() == rows
    bi = DailyAggregate.objects.aggregate(
        n=Sum("payments_registered"), minor=Sum("payments_registered_minor")
    )
    assert (bi["n"], bi["minor"]) == (rows, rows * 1250)


def test_a_list_of_more_than_a_batch_leaves_all_but_one_batch_to_the_relay(organization, payers):
    payment_list = a_list(organization, payers, ROWS)
    seen = {}

    run_list(payment_list, on_step=at_the_end_of("ImportList", seen))

    assert payment_list.status == "imported"
    assert seen == {
        "published": relay.RELAY_BATCH,
        "unpublished": ROWS - relay.RELAY_BATCH,
        "told": relay.RELAY_BATCH,
        "bi": relay.RELAY_BATCH,
        "mails": [f"Payment list #{payment_list.pk} imported"],
    }
    imported = OutboxEvent.objects.get(type="payments.PaymentListImported")
    assert imported.published_at is not None  # the list's own event is not held back

    assert relay.relay_events()["published"] == ROWS - relay.RELAY_BATCH
    assert relay.relay_events() == {"published": 0, "retried": 0, "delivered": 0}
    assert_each_payment_handed_on_once(payers, ROWS)
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("rows", [3, relay.RELAY_BATCH], ids=["3 rows", "one batch"])
def test_a_list_of_up_to_a_batch_is_handed_on_whole_by_the_step(organization, payers, rows):
    payment_list = a_list(organization, payers, rows)
    seen = {}

    run_list(payment_list, on_step=at_the_end_of("ImportList", seen))

    assert seen == {
        "published": rows,
        "unpublished": 0,
        "told": rows,
        "bi": rows,
        "mails": [f"Payment list #{payment_list.pk} imported"],
    }
    assert_each_payment_handed_on_once(payers, rows)
    assert relay.relay_events()["published"] == 0


def test_a_small_list_behind_a_large_ones_rest_is_still_handed_on_by_its_step(organization, payers):
    """The batch after the commit is the list's own events, not the oldest unpublished: a
    small list imported while a large one's rest waits for the relay is told at once."""
    run_list(a_list(organization, payers, ROWS, prefix="BIG"))
    small = a_list(organization, payers, 4, prefix="SMALL")

    run_list(small)

    small_events = OutboxEvent.objects.filter(type=REGISTERED, data__reference__startswith="SMALL-")
    assert small_events.count() == 4
    assert not small_events.filter(published_at__isnull=True).exists()
    assert state()["unpublished"] == ROWS - relay.RELAY_BATCH  # the large list's, untouched
    relay.relay_events()
    assert_each_payment_handed_on_once(payers, ROWS + 4)


def test_import_list_run_twice_imports_and_tells_once(organization, payers):
    """A repeated Step Functions task (its answer lost): the second ImportList neither
    imports nor hands anything on again; the relay tells each payer once."""
    payment_list = a_list(organization, payers, ROWS)
    state_ = claimed(payment_list)
    for name in TASKS[:3]:
        state_ = aws.run_step(task(name, state_))

    first = aws.run_step(task("ImportList", state_))
    after_first = state()
    again = aws.run_step(task("ImportList", state_))

    assert first.get("done") is again.get("done") is True
    assert state() == after_first
    assert after_first["unpublished"] == ROWS - relay.RELAY_BATCH
    assert relay.relay_events()["published"] == ROWS - relay.RELAY_BATCH
    aws.run_step(task("ImportList", state_))  # and once more, after the relay
    assert relay.relay_events()["published"] == 0
    payment_list.refresh_from_db()
    assert (payment_list.status, payment_list.rows_imported) == ("imported", ROWS)
    assert_each_payment_handed_on_once(payers, ROWS)
    assert OutboxEvent.objects.filter(type="payments.PaymentListImported").count() == 1
    assert [m.subject for m in mail.outbox] == [f"Payment list #{payment_list.pk} imported"]
