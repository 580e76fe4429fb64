"""Two or more copies of one run's task at the same moment: Step Functions retries a task
whose invocation it lost track of (Lambda.ServiceException, SdkClientException) while that
invocation is still running, or catches a failure into CompensateError while it is.

Real threads, each with its own connection, on SQLite and on PostgreSQL through PgBouncer.
ImportList: the first copy is held inside its transaction (every payment inserted, nothing
committed) while the other copy arrives; then it commits. ValidateList: the first copy is
held while it stages the rows (holding the step) while others arrive, early and late; the
copy Step Functions waits for runs as the definition's Task state runs it (Retry, Catch:
tests/payment_lists/state_machine_runs.py). What finance sees afterwards: the list imported
(or failed with the first copy's reason), its payments once, one mail, and no scheduled
recovery pass ever calling it failed. A copy killed with SIGKILL while it holds the step:
tests/reliability/test_killed_import.py.
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
from tests.payment_lists.state_machine_runs import TASKS, invoke, run_state, run_states, task

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


class HeldValidation:
    """ValidateList's copies on threads of their own (each its own connection). The copy
    named "first" is held once it has staged the rows (holding the step, if it holds
    anything), until `let_go`; every copy tells when it has started waiting for another
    (steps._pause) or has answered. Counts how many times the file was checked."""

    def __init__(self, monkeypatch, state: dict):
        self.state, self.answers, self.threads = state, {}, {}
        self.checked = 0
        self.first_in, self.go = threading.Event(), threading.Event()
        self.settled: dict[str, threading.Event] = {}
        self.waits: dict[str, int] = {}
        real_flush, real_stage, real_pause = steps._flush, steps._stage, steps._pause

        def flush(*args):
            real_flush(*args)
            if threading.current_thread().name == "first":
                self.first_in.set()
                self.go.wait(timeout=60)

        def stage(*args):
            self.checked += 1
            return real_stage(*args)

        def pause():
            name = threading.current_thread().name
            self.waits[name] = self.waits.get(name, 0) + 1
            if name in self.settled:
                self.settled[name].set()
            real_pause()

        monkeypatch.setattr(steps, "_flush", flush)
        monkeypatch.setattr(steps, "_stage", stage)
        monkeypatch.setattr(steps, "_pause", pause)

    def start(self, name: str, context=None, *, state_machine=False) -> None:
        """A copy of the task; `state_machine`: the copy Step Functions waits for, retried
        and caught as the definition says (run_state) until the Task state has an output."""
        self.settled[name] = threading.Event()

        def copy():
            try:
                if state_machine:
                    self.answers[name] = run_state("ValidateList", self.state)
                else:
                    self.answers[name] = invoke("ValidateList", self.state, context)
            finally:
                self.settled[name].set()
                connection.close()

        self.threads[name] = threading.Thread(target=copy, name=name)
        self.threads[name].start()

    def hold_first(self) -> None:
        self.start("first")
        assert self.first_in.wait(timeout=60), "the first copy got to its rows"

    def settle(self, *names: str) -> None:
        """Until each copy named waits for another, or has answered."""
        for name in names:
            assert self.settled[name].wait(timeout=60), f"{name} neither waited nor answered"

    def let_go(self) -> None:
        self.go.set()
        for thread in self.threads.values():
            thread.join(timeout=120)
            assert not thread.is_alive()


@pytest.fixture
def registered(settings, tmp_path):
    """A list whose run has done RegisterList: the input of its ValidateList."""

    def make(rows: list[str]):
        settings.MEDIA_ROOT = tmp_path / "media"
        organization = SubscriptionFactory().organization
        payment_list = stored_list(organization, rows)
        PaymentList.objects.filter(pk=payment_list.pk).update(submitter_email="finance@example.com")
        state = {"payment_list_id": payment_list.pk, "run": runs.claim_new(payment_list.pk)}
        return payment_list, invoke("RegisterList", state)

    return make


def test_validatelist_copies_early_and_late_check_the_file_once_and_import_it_once(
    registered, monkeypatch
):
    """Step Functions delivers ValidateList again (twice) while its first copy still runs,
    and once more after it finished; the first copy runs longer than the Task state's
    retries last. Before: each copy cleared the rows the others had staged and checked the
    file again; on PostgreSQL their rows collided, an outage to the state machine, which
    retried the copy it waits for until its retries ran out and compensated the list: failed
    ('The rows were being checked twice at once'), although the first copy succeeded. Now
    the copies wait for the first and answer its outcome; the file is checked once and the
    list imported once."""
    payment_list, state = registered(good_rows(ROWS, prefix="copies"))
    held = HeldValidation(monkeypatch, state)
    held.hold_first()
    held.start("retry-1")
    held.start("retry-2", state_machine=True)  # the copy Step Functions now waits for
    held.settle("retry-1", "retry-2")
    payment_list.refresh_from_db()
    assert payment_list.status == "validating"
    held.let_go()
    late = invoke("ValidateList", state)  # delivered once more, after it finished

    output = held.answers["retry-2"]
    assert output == state, output  # the Task state's output: not CompensateError's
    assert held.checked == 1
    assert held.answers["first"] == held.answers["retry-1"] == late == state
    assert held.waits.get("retry-1") and held.waits.get("retry-2")
    run_states(output, TASKS[2:])
    imported_once(payment_list)
    assert mail.outbox[0].body == f"All {ROWS} payments of payments.csv are registered."


def test_copies_waiting_for_a_copy_that_rejects_the_list_fail_it_once_with_its_reason(
    registered, monkeypatch
):
    """The first copy finds a bad row while two others wait: the copy Step Functions waits
    for answers the same failure (caught into CompensateError), not a timeout of its own;
    the submitter is told once, with the first copy's sentence."""
    rows = [*good_rows(ROWS - 1, prefix="copies"), "copies-bad,,12.5x,USD,"]
    payment_list, state = registered(rows)
    held = HeldValidation(monkeypatch, state)
    held.hold_first()
    held.start("retry-1")
    held.start("retry-2")
    held.settle("retry-1", "retry-2")
    held.let_go()

    assert held.checked == 1
    reason = "1 problem(s) in the file; nothing was imported. See the error report."
    for name in ("first", "retry-1", "retry-2"):
        answer = held.answers[name]
        assert isinstance(answer, aws.StepFailed), answer
        assert json.loads(str(answer)) == {"step": "ValidateList", "reason": reason}
    compensated = run_state("ValidateList", state, first=held.answers["retry-2"])
    assert compensated["status"] == "failed"
    assert run_state("ValidateList", state)["skipped"]  # a copy after the compensation

    payment_list.refresh_from_db()
    assert (payment_list.status, payment_list.failed_step) == ("failed", "ValidateList")
    assert (payment_list.failure_reason, payment_list.errors_count) == (reason, 1)
    assert not Payment.objects.exists()
    assert OutboxEvent.objects.filter(type="payments.PaymentListFailed").count() == 1
    assert [(m.subject, m.body) for m in mail.outbox] == [
        (f"Payment list #{payment_list.pk} was not imported", f"payments.csv: {reason}")
    ]


class LambdaContext:
    """What Lambda tells the function of its invocation: the time it has left."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


def test_a_copy_that_cannot_wait_longer_is_retried_by_the_state_machine_not_failed(
    registered, monkeypatch
):
    """A copy whose invocation has no time left to wait for the first answers StepBusy,
    changing nothing; the definition retries it (longer than a step may run: see
    tests/payment_lists/test_state_machine.py), and the retry answers the first's outcome."""
    payment_list, state = registered(good_rows(ROWS, prefix="copies"))
    held = HeldValidation(monkeypatch, state)
    held.hold_first()
    held.start("retry", context=LambdaContext(aws.WAIT_MARGIN_SECONDS))
    held.settle("retry")
    busy = held.answers["retry"]
    assert isinstance(busy, aws.StepBusy), busy
    payment_list.refresh_from_db()
    assert (payment_list.status, payment_list.step_done) == ("validating", "RegisterList")
    held.let_go()

    output = run_state("ValidateList", state, first=busy)
    assert output == state
    run_states(output, TASKS[2:])
    assert held.checked == 1
    imported_once(payment_list)


def test_validatelist_retried_while_a_long_first_copy_stages_is_imported_not_compensated(
    registered, monkeypatch
):
    """The first copy stages a long file, chunk after chunk; Step Functions' copy of the
    task arrives meanwhile. Before: each of its attempts cleared the first's rows, and the
    first's next chunk landed among its own (a collision, retried as an outage) until the
    Task state's retries ran out and the list was compensated: failed, 'The rows were being
    checked twice at once', mailed to the submitter, although the first copy would have
    succeeded. Here the first copy stages one chunk between the retry's start and each of
    its chunks, as a busy database interleaves them. Now the copy waits for the first."""
    monkeypatch.setattr(steps, "STAGE_CHUNK", 2)
    rows = 20  # 10 chunks: more than the retry's attempts could take from the first
    payment_list, state = registered(good_rows(rows, prefix="long"))
    gates = {"first": threading.Semaphore(0), "awaited": threading.Semaphore(0)}
    at_gate = {"first": threading.Event(), "awaited": threading.Event()}
    awaited_moved, answers, checked = threading.Event(), {}, []
    real_flush, real_stage = steps._flush, steps._stage
    real_pause = getattr(steps, "_pause", lambda: None)

    def flush(*args):  # each copy held before each chunk it stages
        name = threading.current_thread().name
        at_gate[name].set()
        if name == "awaited":
            awaited_moved.set()
        assert gates[name].acquire(timeout=60)
        return real_flush(*args)

    def stage(*args):
        checked.append(threading.current_thread().name)
        return real_stage(*args)

    def pause():
        if threading.current_thread().name == "awaited":
            awaited_moved.set()
        real_pause()

    monkeypatch.setattr(steps, "_flush", flush)
    monkeypatch.setattr(steps, "_stage", stage)
    monkeypatch.setattr(steps, "_pause", pause, raising=False)

    def copy(name, run):
        try:
            answers[name] = run()
        finally:
            at_gate[name].set()
            awaited_moved.set()
            connection.close()

    first = threading.Thread(
        target=copy, name="first", args=("first", lambda: invoke("ValidateList", state))
    )
    awaited = threading.Thread(
        target=copy, name="awaited", args=("awaited", lambda: run_state("ValidateList", state))
    )
    first.start()
    assert at_gate["first"].wait(timeout=60)
    awaited.start()
    while True:
        assert awaited_moved.wait(timeout=60)
        if not at_gate["awaited"].is_set() or "awaited" in answers:
            break  # it waits for the first (or has its answer)
        awaited_moved.clear()
        at_gate["awaited"].clear()
        at_gate["first"].clear()
        gates["first"].release()  # the first stages its next chunk...
        assert at_gate["first"].wait(timeout=60)
        gates["awaited"].release()  # ...before the retry stages its own
    for _ in range(rows):
        gates["first"].release()
        gates["awaited"].release()
    first.join(timeout=120)
    awaited.join(timeout=120)

    assert answers["awaited"] == state, answers["awaited"]  # not CompensateError's output
    assert checked == ["first"]
    payment_list.refresh_from_db()
    assert (payment_list.status, payment_list.failure_reason) == ("validating", "")
    run_states(answers["awaited"], TASKS[2:])
    payment_list.refresh_from_db()
    assert (payment_list.status, payment_list.rows_imported) == ("imported", rows)
    assert Payment.objects.filter(payment_list_id=payment_list.pk).count() == rows
    assert not OutboxEvent.objects.filter(type="payments.PaymentListFailed").exists()
    assert [m.subject for m in mail.outbox] == [f"Payment list #{payment_list.pk} imported"]


def test_a_copy_that_went_quiet_past_its_hold_is_taken_over_and_then_writes_nothing(
    registered, monkeypatch
):
    """The first copy stops showing progress (held after staging, renewing nothing) past its
    hold; a retry takes the step over and checks the file itself. When the first copy comes
    back, its next write finds the step is no longer its own: it deletes and marks nothing,
    and answers the step's outcome. The list is imported once, with every row."""
    monkeypatch.setattr(steps, "STEP_LEASE_SECONDS", 1)
    payment_list, state = registered(good_rows(ROWS, prefix="quiet"))
    held = HeldValidation(monkeypatch, state)
    held.hold_first()
    held.start("retry")
    held.threads["retry"].join(timeout=120)  # it waited out the hold, then did the step
    assert held.answers["retry"] == state
    payment_list.refresh_from_db()
    assert (payment_list.step_done, payment_list.rows_total) == ("ValidateList", ROWS)
    held.let_go()

    assert held.answers["first"] == state
    assert held.checked == 2  # the first's check was cut off at its next write
    run_states(state, TASKS[2:])
    imported_once(payment_list)
