"""Two copies of one run's task at the same moment: Step Functions retries a task whose
invocation it lost track of (Lambda.ServiceException, SdkClientException) while that
invocation is still running, or catches a failure into CompensateError while it is.

Real threads, each with its own connection, on SQLite and on PostgreSQL through PgBouncer:
the first ImportList is held inside its transaction (every payment inserted, nothing
committed) while the other copy arrives; then it commits. What finance sees afterwards:
the list imported, its payments once, one "imported" mail, and no scheduled recovery pass
ever calling it failed.
"""

import json
import threading
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from events.models import OutboxEvent
from payment_lists import aws, runs, steps
from payment_lists.models import PaymentList
from payments.models import Payment
from tests.factories import SubscriptionFactory
from tests.payment_lists.lists import good_rows, stored_list
from tests.payment_lists.test_at_least_once import TASKS, task

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = 5


@pytest.fixture
def verified(settings, tmp_path):
    """A list whose run has done every task before ImportList: its state for ImportList."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PAYMENT_LIST_RUNNER = "inline"
    organization = SubscriptionFactory().organization
    payment_list = stored_list(organization, good_rows(ROWS, prefix="copy"))
    PaymentList.objects.filter(pk=payment_list.pk).update(submitter_email="finance@example.com")
    state = {"payment_list_id": payment_list.pk, "run": runs.claim_new(payment_list.pk)}
    for name in TASKS[:3]:
        state = aws.run_step(task(name, state))
    return payment_list, state


def while_importing(monkeypatch, state: dict, other: dict) -> dict:
    """ImportList of `state` held inside its transaction while `other` (a task event) is
    handed to the function from another thread; then the import commits. Both answers."""
    real, inside, release = steps._insert_payments, threading.Event(), threading.Event()

    def held(payment_list):
        inserted = real(payment_list)
        inside.set()
        release.wait(timeout=30)
        return inserted

    monkeypatch.setattr(steps, "_insert_payments", held)
    answers = {}

    def invoke(name, event):
        try:
            answers[name] = aws.run_step(event)
        except Exception as error:  # the function's error, as Step Functions sees it
            answers[name] = error
        finally:
            connection.close()

    first = threading.Thread(target=invoke, args=("first", task("ImportList", state)))
    first.start()
    assert inside.wait(timeout=30), "the first ImportList got inside its transaction"
    second = threading.Thread(target=invoke, args=("second", other))
    second.start()
    time.sleep(0.3)  # the copy reaches the list's row and waits for the import's commit
    release.set()
    first.join(timeout=60)
    second.join(timeout=60)
    return answers


def after_the_recovery_passes(payment_list) -> PaymentList:
    """Scheduled recovery passes long after any lease: one that called the list dead would
    take it over, and after MAX_TAKEOVERS compensate it."""
    later = timezone.now() + timedelta(days=1)
    for hours in range(runs.MAX_TAKEOVERS + 2):
        runs.recover(here=True, now=later + timedelta(hours=hours))
    payment_list.refresh_from_db()
    return payment_list


def imported_once(payment_list) -> None:
    payment_list = after_the_recovery_passes(payment_list)
    assert (payment_list.status, payment_list.rows_imported) == ("imported", ROWS)
    assert (payment_list.failed_step, payment_list.failure_reason) == ("", "")
    assert Payment.objects.filter(payment_list_id=payment_list.pk).count() == ROWS
    events = OutboxEvent.objects
    assert events.filter(type="payments.PaymentRegistered").count() == ROWS
    assert events.filter(type="payments.PaymentListImported").count() == 1
    assert not events.filter(type="payments.PaymentListFailed").exists()
    assert [message.subject for message in mail.outbox] == [
        f"Payment list #{payment_list.pk} imported"
    ]


def test_importlist_retried_while_its_first_copy_commits_leaves_the_list_imported(
    verified, monkeypatch
):
    """Before: the copy, let in once the import committed, set the list back to
    'importing' with a new lease; the recovery pass then took it over again and again and
    compensated it: 'The import stopped 4 times ...; nothing was imported', mailed to the
    submitter, with every payment of it registered."""
    payment_list, state = verified

    answers = while_importing(monkeypatch, state, task("ImportList", state))

    assert answers["first"]["done"] and answers["second"]["done"]
    assert "skipped" in answers["second"]
    imported_once(payment_list)


def test_compensation_caught_while_the_import_commits_undoes_nothing_it_cannot(
    verified, monkeypatch
):
    """The import's invocation lost track of (its retries spent), Step Functions catches
    into CompensateError while the import is in fact committing: the imported list keeps no
    failure reason and nobody is told it failed."""
    payment_list, state = verified
    caught = {"Error": "Lambda.ServiceException", "Cause": "{}"}
    compensate = task("CompensateError", {**state, "error": caught})

    answers = while_importing(monkeypatch, state, compensate)

    assert answers["first"]["done"] and "skipped" in answers["second"]
    imported_once(payment_list)


def test_validatelist_retried_while_its_first_copy_stages_is_imported_not_failed(
    settings, tmp_path, monkeypatch
):
    """Both copies read the file; the retry's staged rows collide with the first's. Before:
    the retry (the copy Step Functions waits for) failed as 'Something went wrong while
    checking the rows', caught into CompensateError: the list failed for nothing. Now it
    fails as a transient error, Step Functions retries it, and the retry finds the rows
    checked by the first copy: the list goes on and is imported, once."""
    settings.MEDIA_ROOT = tmp_path / "media"
    organization = SubscriptionFactory().organization
    payment_list = stored_list(organization, good_rows(ROWS, prefix="twice"))
    state = {"payment_list_id": payment_list.pk, "run": runs.claim_new(payment_list.pk)}
    state = aws.run_step(task("RegisterList", state))
    gates = {name: (threading.Event(), threading.Event()) for name in ("first", "retry")}
    real = steps._flush

    def flush(chunk):  # each copy held where it is about to stage its rows
        reached, go = gates[threading.current_thread().name]
        reached.set()
        go.wait(timeout=30)
        return real(chunk)

    monkeypatch.setattr(steps, "_flush", flush)
    answers = {}

    def copy():
        try:
            answers[threading.current_thread().name] = aws.run_step(task("ValidateList", state))
        except Exception as error:  # the function's error, as Step Functions sees it
            answers[threading.current_thread().name] = error
        finally:
            connection.close()

    threads = {name: threading.Thread(target=copy, name=name) for name in gates}
    for name in ("first", "retry"):  # the retry starts once the first has cleared, read
        threads[name].start()
        assert gates[name][0].wait(timeout=30)
    for name in ("first", "retry"):  # the first stages and finishes, then the retry stages
        gates[name][1].set()
        threads[name].join(timeout=60)
    monkeypatch.setattr(steps, "_flush", real)

    assert answers["first"] == state
    retried = answers["retry"]
    if isinstance(retried, aws.DatabaseUnavailable):  # in the definition's Retry
        retried = aws.run_step(task("ValidateList", state))
    if isinstance(retried, Exception):  # caught into CompensateError, as the definition does
        caught = {
            "Error": type(retried).__name__,
            "Cause": json.dumps({"errorMessage": str(retried)}),
        }
        aws.run_step(task("CompensateError", {**state, "error": caught}))
    else:
        for name in TASKS[2:]:
            retried = aws.run_step(task(name, retried))

    payment_list.refresh_from_db()
    assert (payment_list.status, payment_list.failure_reason) == ("imported", "")
    assert Payment.objects.filter(payment_list_id=payment_list.pk).count() == ROWS
    assert not OutboxEvent.objects.filter(type="payments.PaymentListFailed").exists()
