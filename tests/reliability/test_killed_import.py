"""A payment-list import killed half-way: a real `manage.py import_payment_list` process,
SIGKILLed in the middle of ImportList on a file-backed database (the SQLite file of the
SQLite pass, the PostgreSQL server of the other).

ImportList commits one chunk per call, so a killed run leaves the chunks it committed and a
list stuck in "importing" that nothing will finish or compensate (the in-process fault,
where CompensateError does run, is tests/payments/test_payment_list_workflow.py). How it
is caught: an unfinished list with no sign of life (no new chunk) for 30 minutes is
interrupted; `manage.py recover_payment_lists` runs CompensateError for it, and `--rerun`
imports it again.
"""

import signal
import subprocess
import sys
import time
from datetime import timedelta
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.utils import timezone

from events.models import OutboxEvent
from payment_lists import services as list_services
from payment_lists.models import PaymentList, PaymentListRow
from payments.models import Payment, Subscription
from tests.factories import OrganizationFactory
from tests.payment_lists.lists import HEADER, good_rows
from tests.reliability.support import ROOT, child_env

pytestmark = pytest.mark.django_db(transaction=True)

ROWS, CHUNK = 200, 20


@pytest.fixture
def organization():
    org = OrganizationFactory()
    Subscription.objects.create(
        organization=org, plan="business", starts_at=timezone.now() - timedelta(days=1),
        max_rows_per_list=10_000, max_total_minor_per_list=10**10,
    )  # fmt: skip
    return org


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def recover(*args) -> str:
    out = StringIO()
    call_command("recover_payment_lists", *args, stdout=out)
    return out.getvalue()


def start_import(organization, media, tmp_path) -> subprocess.Popen:
    csv_path = tmp_path / "payments.csv"
    csv_path.write_text("\n".join([HEADER, *good_rows(ROWS, prefix="killed")]) + "\n")
    env = child_env(DJANGO_MEDIA_ROOT=media, PAYMENT_LIST_IMPORT_CHUNK=CHUNK, CHUNK_PAUSE_S=0.25)
    command = [sys.executable, str(ROOT / "tests/reliability/slow_import.py"), str(csv_path)]
    command += ["--organization", organization.name]
    log = (tmp_path / "import.log").open("wb")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_for_committed_chunks(organization, process, chunks: int) -> PaymentList:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the import ended before it could be killed"
        found = PaymentList.objects.filter(organization=organization).first()
        if found and found.status == "importing" and found.rows_imported >= chunks * CHUNK:
            return found
        time.sleep(0.05)
    raise AssertionError("the import never got into ImportList")


def test_import_killed_mid_import_is_compensated_then_rerun(organization, media, tmp_path):
    process = start_import(organization, media, tmp_path)
    try:
        wait_for_committed_chunks(organization, process, chunks=2)
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=10) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    # What the killed run left: the chunks it committed (the one in flight rolled back),
    # no events, and a list that claims to be importing.
    stuck = PaymentList.objects.get(organization=organization)
    assert stuck.status == "importing"
    assert stuck.current_step == "ImportList"
    assert 2 * CHUNK <= stuck.rows_imported < ROWS
    assert Payment.objects.filter(payment_list_id=stuck.pk).count() == stuck.rows_imported
    assert not OutboxEvent.objects.filter(type="payments.PaymentRegistered").exists()

    # Just killed, it still looks alive to the default 30-minute rule: left alone.
    assert "No interrupted payment list" in recover("--dry-run")

    # Quiet long enough (here: now), it is interrupted; the cleanup path removes it all.
    output = recover("--quiet-minutes", "0")
    assert f"List #{stuck.pk}" in output
    stuck.refresh_from_db()
    assert (stuck.status, stuck.failed_step) == ("failed", "ImportList")
    assert "stopped during ImportList" in stuck.failure_reason
    assert stuck.rows_imported == 0
    assert not Payment.objects.exists()
    assert not PaymentListRow.objects.exists()
    assert not OutboxEvent.objects.filter(type="payments.PaymentRegistered").exists()
    assert OutboxEvent.objects.filter(type="payments.PaymentListFailed").count() == 1

    # The re-run imports every row once, with one event each.
    output = recover(str(stuck.pk), "--rerun")
    stuck.refresh_from_db()
    assert stuck.status == "imported", output
    assert stuck.rows_imported == ROWS
    imported = Payment.objects.filter(payment_list_id=stuck.pk)
    references = imported.values_list("reference", flat=True)
    assert sorted(references) == sorted(f"killed-{n}" for n in range(ROWS))
    assert OutboxEvent.objects.filter(type="payments.PaymentRegistered").count() == ROWS


def test_a_list_with_recent_progress_is_not_taken_for_interrupted(organization, media):
    importing = PaymentList.objects.create(
        organization=organization, status="importing", current_step="ImportList",
        started_at=timezone.now() - timedelta(hours=2), submitted_by="test",
    )  # fmt: skip
    PaymentList.objects.filter(pk=importing.pk).update(
        created_at=timezone.now() - timedelta(hours=2)
    )
    Payment.objects.create(
        reference="fresh-chunk", amount_minor=100, currency="USD", payment_list=importing,
        registered_by="list",
    )  # fmt: skip
    assert list_services.interrupted_lists() == []  # a chunk just committed: alive
    Payment.objects.filter(reference="fresh-chunk").update(
        registered_at=timezone.now() - timedelta(hours=1)
    )
    assert list_services.interrupted_lists() == [importing]


def test_finished_lists_are_never_compensated(organization, media):
    done = PaymentList.objects.create(
        organization=organization, status="imported", submitted_by="test"
    )
    PaymentList.objects.filter(pk=done.pk).update(created_at=timezone.now() - timedelta(days=1))
    assert list_services.interrupted_lists(quiet_for=timedelta(0)) == []
    output = recover(str(done.pk), "--dry-run")
    assert "would leave it" in output


def test_rerun_on_step_functions_starts_an_execution(organization, settings):
    """A first run starts from the S3 upload event; a re-run has none and starts it itself."""
    settings.PAYMENT_LIST_RUNNER = "stepfunctions"
    failed = PaymentList.objects.create(
        organization=organization, status="failed", submitted_by="test"
    )
    with mock.patch("payment_lists.aws.start_execution") as start_execution:
        list_services.rerun_payment_list(failed)
    start_execution.assert_called_once_with(failed.pk)
    # The recovery command too: on AWS it starts an execution instead of importing inside
    # its own (time-limited) `zappa manage` invocation.
    PaymentList.objects.filter(pk=failed.pk).update(status="failed")
    with mock.patch("payment_lists.aws.start_execution") as start_execution:
        recover(str(failed.pk), "--rerun")
    start_execution.assert_called_once_with(failed.pk)
