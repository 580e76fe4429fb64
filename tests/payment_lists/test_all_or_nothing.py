"""All or nothing, as people see it: while a list imports, nobody (the API, the admin, BI,
notifications: all of them read committed rows through another connection) sees any of its
payments or events; a reference taken meanwhile fails the list, named, with nothing
imported and nothing of anyone else's touched."""

import threading

import pytest
from django.db import connection

from events.models import OutboxEvent
from payment_lists import runs, steps, workflow
from payment_lists.models import PaymentList, PaymentListRow
from payments.models import Payment
from payments.services import register_payment
from tests.database_faults import at_statements, marks_list_imported, table
from tests.factories import SubscriptionFactory
from tests.payment_lists.lists import good_rows, run_list, stored_list
from tests.payment_lists.test_payment_list_workflow import report_rows


@pytest.fixture(autouse=True)
def _inline(settings):
    settings.PAYMENT_LIST_RUNNER = "inline"


@pytest.fixture
def organization(db):
    return SubscriptionFactory(
        max_rows_per_list=10_000, max_total_minor_per_list=10**12
    ).organization


def checked_not_imported(payment_list) -> str:
    """Claim the list for a run and take it through the steps before the import (staged,
    validated, its subscription checked); the run's token, for run_workflow to import."""
    token = runs.claim_new(payment_list.pk)
    state = {"payment_list_id": payment_list.pk, "run": token}
    for step in workflow.STEPS[:3]:
        state = step.function(state)
    return token


def seen_from_another_connection() -> dict:
    """What any other process sees now: counted on a fresh connection in another thread."""
    seen = {}

    def look():
        try:
            seen["payments"] = Payment.objects.count()
            seen["events"] = OutboxEvent.objects.filter(type="payments.PaymentRegistered").count()
            seen["status"] = list(PaymentList.objects.values_list("status", flat=True))
        finally:
            connection.close()

    reader = threading.Thread(target=look)
    reader.start()
    reader.join(timeout=30)
    return seen


@pytest.mark.django_db(transaction=True)
def test_no_payment_of_a_list_is_visible_before_the_whole_list_is(organization):
    payment_list = stored_list(organization, good_rows(300))
    during = []

    def look_in_the_middle(sql, params):
        # Every payment and event written, the list about to be marked imported: no commit.
        assert Payment.objects.filter(payment_list_id=payment_list.pk).count() == 300
        during.append(seen_from_another_connection())

    with at_statements(
        rf"^UPDATE {table(PaymentList)}", when=marks_list_imported, before=look_in_the_middle
    ):
        run_list(payment_list)

    assert during == [{"payments": 0, "events": 0, "status": ["importing"]}]
    assert payment_list.status == "imported"
    assert seen_from_another_connection() == {
        "payments": 300, "events": 300, "status": ["imported"],
    }  # fmt: skip


@pytest.mark.django_db
def test_a_reference_registered_meanwhile_fails_the_list_naming_it(organization):
    """Validated while the reference was free; registered through the API before the import."""
    payment_list = stored_list(organization, good_rows(30, prefix="OVL"))
    token = checked_not_imported(payment_list)
    taken = register_payment(
        amount_minor=100, currency="USD", reference="OVL-7", actor="finance@example.com"
    )
    Payment.objects.filter(pk=taken.pk).update(status="verified")
    output = workflow.run_workflow(payment_list.pk, token)

    payment_list.refresh_from_db()
    assert output["status"] == "failed"
    assert (payment_list.status, payment_list.failed_step) == ("failed", "ImportList")
    assert "OVL-7" in payment_list.failure_reason
    assert "IntegrityError" not in payment_list.failure_reason
    assert "1 reference(s) were registered by someone else" in payment_list.failure_reason
    assert report_rows(payment_list)[1:] == [
        ["9", "reference", "OVL-7", steps.CLASH_REASON],
    ]
    # Nothing of the list, and the other payment untouched.
    assert list(Payment.objects.values_list("reference", "status")) == [("OVL-7", "verified")]
    assert not PaymentListRow.objects.exists()
    registered = OutboxEvent.objects.filter(type="payments.PaymentRegistered")
    assert registered.count() == 1  # the API's own


@pytest.mark.django_db
def test_overlapping_lists_the_second_fails_naming_every_clash(organization):
    first = stored_list(organization, [f"L-{n},,1.00,USD," for n in range(20)], name="a.csv")
    second = stored_list(organization, [f"L-{n},,2.00,EUR," for n in range(15, 40)], name="b.csv")
    # Both checked before either imports (as when they run side by side).
    tokens = {
        payment_list.pk: checked_not_imported(payment_list) for payment_list in (first, second)
    }
    workflow.run_workflow(first.pk, tokens[first.pk])
    workflow.run_workflow(second.pk, tokens[second.pk])
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == "imported"
    assert (second.status, second.failed_step) == ("failed", "ImportList")
    for reference in ("L-15", "L-16", "L-19"):
        assert reference in second.failure_reason
    assert "5 reference(s)" in second.failure_reason
    assert [row[2] for row in report_rows(second)[1:]] == [f"L-{n}" for n in range(15, 20)]
    assert Payment.objects.count() == 20
    assert set(Payment.objects.values_list("currency", flat=True)) == {"USD"}


@pytest.mark.django_db(transaction=True)
def test_overlapping_lists_imported_at_the_same_moment_one_wins_the_other_names_the_clashes(
    organization,
):
    """Real concurrency (two threads, two connections): on PostgreSQL the second waits for
    the first's references, or the two deadlock and one goes again; on SQLite they queue."""
    references = [f"SAME-{n}" for n in range(200)]
    first = stored_list(organization, [f"{r},,1.00,USD," for r in references], name="a.csv")
    second = stored_list(
        organization, [f"{r},,1.00,USD," for r in reversed(references)], name="b.csv"
    )
    tokens = {
        payment_list.pk: checked_not_imported(payment_list) for payment_list in (first, second)
    }
    ready = threading.Barrier(2)

    def import_it(payment_list):
        try:
            ready.wait(timeout=10)
            workflow.run_workflow(payment_list.pk, tokens[payment_list.pk])
        finally:
            connection.close()

    threads = [threading.Thread(target=import_it, args=(pl,)) for pl in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    lists = {pl.status: pl for pl in PaymentList.objects.all()}
    assert set(lists) == {"imported", "failed"}
    loser = lists["failed"]
    assert loser.failed_step == "ImportList"
    assert "200 reference(s) were registered by someone else" in loser.failure_reason
    assert "went wrong" not in loser.failure_reason
    assert Payment.objects.count() == 200
    assert set(Payment.objects.values_list("payment_list_id", flat=True)) == {lists["imported"].pk}
    assert OutboxEvent.objects.filter(type="payments.PaymentRegistered").count() == 200


@pytest.mark.django_db
def test_an_import_the_database_chose_as_deadlock_victim_goes_again(organization):
    from django.db import OperationalError

    class Deadlock(Exception):
        sqlstate = "40P01"

    payment_list = stored_list(organization, good_rows(5))
    calls = []

    def victim_once(sql, params):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("deadlock detected") from Deadlock()

    with at_statements(rf"^INSERT INTO {table(Payment)}", before=victim_once):
        run_list(payment_list)
    assert (payment_list.status, len(calls)) == ("imported", 2)
    assert Payment.objects.count() == 5
