"""A payment list's database connection killed in the middle of a step: behind PgBouncer in
transaction mode (as RDS Proxy serves Lambda), the server connection is terminated
(pg_terminate_backend from another session) during ValidateList's COPY of the staged rows,
or inside ImportList's transaction; on SQLite the driver's connection is closed under Django.

What finance must see: not a failed list to re-run, but the step retried on a new
connection (by the state machine's Retry for a database that could not be reached, or by
the local runner in the same way), and the list imported once, its submitter told once.
"""

import psycopg
import pytest
from django.core import mail
from django.db import connection

from events.models import OutboxEvent
from payment_lists import aws, runs, workflow
from payment_lists.models import PaymentList, PaymentListRow
from payments.models import Payment
from tests.database_faults import at_statements, table
from tests.factories import SubscriptionFactory
from tests.payment_lists.lists import good_rows, stored_list
from tests.payment_lists.state_machine_runs import TASKS, run_states

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = 50


def terminate(where_sql: str, params=()) -> int:
    """pg_terminate_backend of this database's other sessions matching `where_sql`, from a
    session of its own (through the same PgBouncer): how many were killed."""
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"], port=settings["PORT"], user=settings["USER"],
        password=settings["PASSWORD"] or None, dbname=settings["NAME"], autocommit=True,
    ) as admin:  # fmt: skip
        killed = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "  # noqa: S608 (ours)
            f"WHERE datname = current_database() AND pid <> pg_backend_pid() AND {where_sql}",
            params,
        ).fetchall()
    return len(killed)


class KillOnce:
    """Kills the step's connection the first time it gets where the test says."""

    def __init__(self):
        self.killed = 0

    def during_the_copy(self, monkeypatch) -> None:
        """PostgreSQL: in the middle of the COPY of the staged rows (rows already sent)."""
        real, sent = psycopg.Copy.write_row, []

        def write_row(copy, row):
            sent.append(row)
            if len(sent) == ROWS // 2 and not self.killed:
                self.killed = terminate("query ILIKE %s AND state = 'active'", ["COPY %"])
            return real(copy, row)

        monkeypatch.setattr(psycopg.Copy, "write_row", write_row)

    def close_under_django(self, sql, params) -> None:
        """SQLite: the driver's connection closed under Django, as a lost one."""
        if not self.killed:
            connection.connection.close()
            self.killed = 1

    def inside_the_transaction(self, sql, params) -> None:
        """PostgreSQL: the server session of the import's transaction terminated before its
        INSERT of the payments (the list's row locked, its transaction open)."""
        if not self.killed:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                [pid] = cursor.fetchone()
            self.killed = terminate("pid = %s", [pid])


@pytest.fixture
def claimed(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    organization = SubscriptionFactory().organization
    payment_list = stored_list(organization, good_rows(ROWS, prefix="cut"))
    PaymentList.objects.filter(pk=payment_list.pk).update(submitter_email="finance@example.com")
    return payment_list, {
        "payment_list_id": payment_list.pk,
        "run": runs.claim_new(payment_list.pk),
    }


@pytest.mark.parametrize("runner", ["stepfunctions", "local"])
@pytest.mark.parametrize("step", ["ValidateList", "ImportList"])
def test_a_connection_killed_during_a_step_is_retried_and_the_list_imported_once(
    claimed, step, runner, monkeypatch
):
    """Before: killed during the COPY, psycopg failed to read PgBouncer's answer (a
    ValueError, not a database error), so the step failed for good and the list was
    compensated: 'Something went wrong while checking the rows ... Re-run the list'; on
    SQLite a closed connection failed the list the same way."""
    payment_list, state = claimed
    kill = KillOnce()
    staged, payments = table(PaymentListRow), table(Payment)
    if connection.vendor == "postgresql" and step == "ValidateList":
        kill.during_the_copy(monkeypatch)
        fault = at_statements("^$")  # the COPY is the driver's: no statement to watch
    elif connection.vendor == "postgresql":
        fault = at_statements(rf"^INSERT INTO {payments}", before=kill.inside_the_transaction)
    else:
        target = staged if step == "ValidateList" else payments
        fault = at_statements(rf"^INSERT INTO {target}", before=kill.close_under_django)
    log = []
    if runner == "local":  # the in-process runner (make run, import_payment_list)
        with fault:
            workflow.run_workflow(payment_list.pk, state["run"])
    else:
        state = run_states(state, TASKS[: TASKS.index(step)])
        with fault:
            run_states(state, TASKS[TASKS.index(step) :], log=log)
        answers = [answer for name, answer in log if name == step]
        assert isinstance(answers[0], aws.DatabaseUnavailable), answers  # in the Retry
        assert not isinstance(answers[-1], Exception), answers
        assert "CompensateError" not in [name for name, _ in log]

    assert kill.killed == 1
    payment_list.refresh_from_db()
    assert (payment_list.status, payment_list.rows_imported) == ("imported", ROWS)
    assert (payment_list.failed_step, payment_list.failure_reason) == ("", "")
    references = Payment.objects.filter(payment_list_id=payment_list.pk)
    assert sorted(references.values_list("reference", flat=True)) == sorted(
        f"cut-{n}" for n in range(ROWS)
    )
    events = OutboxEvent.objects
    assert events.filter(type="payments.PaymentRegistered").count() == ROWS
    assert events.filter(type="payments.PaymentListImported").count() == 1
    assert not events.filter(type="payments.PaymentListFailed").exists()
    assert not PaymentListRow.objects.exists()
    assert [(m.subject, m.body) for m in mail.outbox] == [
        (
            f"Payment list #{payment_list.pk} imported",
            f"All {ROWS} payments of payments.csv are registered.",
        )
    ]
