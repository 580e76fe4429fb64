"""A payment-list import killed half-way: a real `manage.py import_payment_list` process,
SIGKILLed in the middle of a step on a file-backed database (the SQLite file of the SQLite
pass, the PostgreSQL server of the other).

Killed inside ImportList's transaction, nothing of the list is visible (the database rolls
the transaction back), and the list still says "importing". Its run's lease then runs out
and the next scheduled recovery pass (`manage.py recover_payment_lists`, on AWS
payment_lists.aws.recover_on_schedule) takes it over and finishes it: no operator. A list
that keeps dying is compensated instead, and the same file can be submitted again.
"""

import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from events.models import OutboxEvent
from payment_lists import runs, steps
from payment_lists.models import PaymentList, PaymentListRow
from payments.models import Payment
from tests.database_faults import at_statements, table
from tests.factories import SubscriptionFactory
from tests.payment_lists.lists import HEADER, good_rows, run_list, stored_list
from tests.payment_lists.state_machine_runs import TASKS, invoke, run_states
from tests.reliability.support import ROOT, child_env, kill_once_held

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = 200
LEASE_S = 1


@pytest.fixture
def organization():
    return SubscriptionFactory(
        max_rows_per_list=10_000, max_total_minor_per_list=10**10
    ).organization


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PAYMENT_LIST_RUNNER = "inline"
    return settings.MEDIA_ROOT


def recover(*args) -> str:
    out = StringIO()
    call_command("recover_payment_lists", *args, stdout=out)
    return out.getvalue()


def kill_during(where: str, organization, media, tmp_path) -> PaymentList:
    """Run the import in a child process, SIGKILL it once it is held `where`."""
    csv_path = tmp_path / "payments.csv"
    csv_path.write_text("\n".join([HEADER, *good_rows(ROWS, prefix="killed")]) + "\n")
    kill_once_held(
        "tests/reliability/slow_import.py", [str(csv_path), "--organization", organization.name],
        tmp_path, DJANGO_MEDIA_ROOT=media, PAYMENT_LIST_LEASE_SECONDS=LEASE_S, PAUSE_IN=where,
        PAUSE_S=60,
    )  # fmt: skip
    return PaymentList.objects.get(organization=organization)


def wait_for_the_lease_to_run_out(payment_list: PaymentList) -> None:
    payment_list.refresh_from_db()
    while payment_list.lease_until >= timezone.now():
        time.sleep(0.1)


def imported_once(payment_list: PaymentList) -> None:
    payment_list.refresh_from_db()
    assert (payment_list.status, payment_list.rows_imported) == ("imported", ROWS)
    references = Payment.objects.filter(payment_list_id=payment_list.pk)
    expected = sorted(f"killed-{n}" for n in range(ROWS))
    assert sorted(references.values_list("reference", flat=True)) == expected
    assert OutboxEvent.objects.filter(type="payments.PaymentRegistered").count() == ROWS
    assert OutboxEvent.objects.filter(type="payments.PaymentListImported").count() == 1
    assert not OutboxEvent.objects.filter(type="payments.PaymentListFailed").exists()
    assert not PaymentListRow.objects.exists()


def test_killed_inside_the_import_nothing_shows_and_the_next_pass_finishes_it(
    organization, media, tmp_path
):
    stuck = kill_during("import", organization, media, tmp_path)

    # Killed with every payment written but not committed: none of them exists for anyone.
    assert (stuck.status, stuck.current_step) == ("importing", "ImportList")
    assert not Payment.objects.exists()
    assert not OutboxEvent.objects.filter(type="payments.PaymentRegistered").exists()

    # While its lease lasts the run counts as alive: the pass leaves it alone.
    PaymentList.objects.filter(pk=stuck.pk).update(
        lease_until=timezone.now() + timedelta(minutes=5)
    )
    assert "No payment list to recover" in recover()
    PaymentList.objects.filter(pk=stuck.pk).update(lease_until=timezone.now())
    wait_for_the_lease_to_run_out(stuck)

    output = recover()  # the scheduled pass, nobody's decision
    assert f"List #{stuck.pk}" in output and "resumed, now imported" in output
    imported_once(stuck)
    stuck.refresh_from_db()
    assert stuck.takeovers == 1
    assert "No payment list to recover" in recover()  # and a second pass changes nothing


def test_killed_while_checking_the_rows_the_next_pass_finishes_it(organization, media, tmp_path):
    stuck = kill_during("validate", organization, media, tmp_path)
    assert (stuck.status, stuck.current_step, stuck.step_done) == (
        "validating", "ValidateList", "RegisterList",
    )  # fmt: skip
    assert PaymentListRow.objects.filter(payment_list=stuck).exists()  # its staged chunk
    wait_for_the_lease_to_run_out(stuck)
    assert "resumed, now imported" in recover()
    imported_once(stuck)


def test_a_list_that_keeps_dying_is_compensated_and_its_file_accepted_again(organization, media):
    payment_list = stored_list(organization, good_rows(ROWS, prefix="killed"))
    token = runs.claim_new(payment_list.pk)
    assert token
    # As the recovery pass finds it after MAX_TAKEOVERS deaths, during ValidateList.
    PaymentList.objects.filter(pk=payment_list.pk).update(
        status="validating", current_step="ValidateList", step_done="RegisterList",
        takeovers=runs.MAX_TAKEOVERS, lease_until=timezone.now() - timedelta(seconds=1),
    )  # fmt: skip
    output = recover()
    assert "compensated, now failed" in output
    payment_list.refresh_from_db()
    assert (payment_list.status, payment_list.failed_step) == ("failed", "ValidateList")
    assert "stopped 4 times while checking the rows" in payment_list.failure_reason
    assert not Payment.objects.exists()

    # The same file, submitted again, is accepted and imported.
    again = stored_list(organization, good_rows(ROWS, prefix="killed"))
    run_list(again)
    assert again.status == "imported"


def test_a_list_nobody_started_is_started_by_the_pass(organization, media):
    """Its S3 event never came (or the upload's start was lost)."""
    waiting = stored_list(organization, good_rows(ROWS, prefix="killed"))
    assert "No payment list to recover" in recover()  # just uploaded: its trigger may come
    PaymentList.objects.filter(pk=waiting.pk).update(
        created_at=timezone.now() - runs.UNCLAIMED_AFTER - timedelta(seconds=1)
    )
    assert "started, now imported" in recover()
    imported_once(waiting)


def test_finished_lists_are_never_touched_by_the_pass(organization, media):
    done = stored_list(organization, good_rows(3, prefix="done"))
    run_list(done)
    failed = stored_list(organization, ["x,,abc,USD,"])
    run_list(failed)
    PaymentList.objects.update(
        lease_until=timezone.now() - timedelta(days=1),
        created_at=timezone.now() - timedelta(days=1),
    )
    assert "No payment list to recover" in recover()
    assert set(PaymentList.objects.values_list("status", flat=True)) == {"imported", "failed"}
    assert "would re-run" in recover(str(failed.pk), "--dry-run")
    assert "imported, not re-run" in recover(str(done.pk))


def test_a_list_left_under_way_before_runs_had_leases_is_finished_too(organization, media):
    """What the previous code left after a crash: "validating", no run token, no lease."""
    legacy = stored_list(organization, good_rows(ROWS, prefix="killed"))
    PaymentList.objects.filter(pk=legacy.pk).update(
        status="validating", current_step="ValidateList", rows_validated=50
    )
    assert "resumed, now imported" in recover()
    imported_once(legacy)


def test_the_pass_clears_what_an_import_killed_after_its_commit_left_staged(organization, media):
    done = stored_list(organization, good_rows(3, prefix="killed"))
    # Killed right after the commit: the staged rows are never deleted.
    deletes_staged = rf"^DELETE FROM {table(PaymentListRow)}"  # noqa: S608 (a regex)
    with at_statements(deletes_staged, instead=lambda *_: None):
        run_list(done)
    assert done.status == "imported"
    assert PaymentListRow.objects.filter(payment_list=done).count() == 3
    assert "No payment list to recover" in recover()
    assert not PaymentListRow.objects.exists()
    assert Payment.objects.filter(payment_list_id=done.pk).count() == 3


@pytest.mark.parametrize("where, step", [("validate", "ValidateList"), ("import", "ImportList")])
def test_a_copy_of_the_task_takes_the_step_over_from_a_holder_killed_with_sigkill(
    where, step, organization, media, tmp_path, monkeypatch
):
    """The step's holder is a real process, SIGKILLed while it holds the step (checking the
    rows, renewing its hold; or inside the import's transaction). Another copy of the task,
    delivered while it was alive, waits for it (never a second check of the rows beside it,
    never a failure), and once the dead holder's hold has run out takes the step over: the
    list is imported once, and the submitter told once."""
    csv_path = tmp_path / "payments.csv"
    csv_path.write_text("\n".join([HEADER, *good_rows(ROWS, prefix="killed")]) + "\n")
    marker, log_path = tmp_path / "held", tmp_path / "child.log"
    env = child_env(
        MARKER=marker, DJANGO_MEDIA_ROOT=media, PAUSE_IN=where, PAUSE_S=120, RENEW=1,
        STEP_LEASE_S=3, SUBMITTER_EMAIL="finance@example.com",
    )  # fmt: skip
    script = ROOT / "tests/reliability/slow_import.py"
    command = [sys.executable, str(script), str(csv_path), "--organization", organization.name]
    waits, waiting = [], threading.Event()
    real_pause = steps._pause

    def pause():
        waits.append(1)
        if len(waits) >= 3:
            waiting.set()
        real_pause()

    monkeypatch.setattr(steps, "_pause", pause)
    answers = {}
    with log_path.open("wb") as log:
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        while not marker.exists():
            assert child.poll() is None, log_path.read_text()
            time.sleep(0.05)
        held = PaymentList.objects.get(organization=organization)
        state = {"payment_list_id": held.pk, "run": held.run_token}

        def copy():
            try:
                answers[step] = invoke(step, state)
            finally:
                waiting.set()
                connection.close()

        duplicate = threading.Thread(target=copy)
        duplicate.start()
        assert waiting.wait(timeout=60)
        assert step not in answers, answers  # it waits while the holder lives
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
        duplicate.join(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()

    output = answers[step]
    assert output == ({**state, "done": True} if step == "ImportList" else state), output
    run_states(output, TASKS[TASKS.index(step) + 1 :])
    imported_once(held)
    assert [(m.subject, m.body) for m in mail.outbox] == [
        (
            f"Payment list #{held.pk} imported",
            f"All {ROWS} payments of payments.csv are registered.",
        )
    ]
