"""The payment-list workflow's steps. Each takes one JSON-able dict and returns one.

The same functions run in-process (payment_lists.workflow) and as Step Functions tasks
(payment_lists.aws.run_step), so a step keeps nothing in memory between calls: what it learns
goes to the PaymentList row, its staged rows, or the dict it returns.

Every trigger may arrive more than once (S3 events, Lambda retries, Step Functions retries,
the recovery pass). So each payload names its run (`run`, the token of the run that owns
the list: payment_lists.runs) and a step
- of a run that does not own the list, or for a list already finished, raises Stale: the
  caller stops there and compensates nothing, because that list is another run's;
- already finished by this run (a retry after success) changes nothing and passes on;
- runs only once the step before it has finished (steps never overtake each other);
- is held by one copy of its task at a time (a task may be delivered again while its first
  copy still runs: Step Functions retries an invocation it lost track of). The copy that
  claims the step (PaymentList.step_holder) holds it for STEP_LEASE_SECONDS, renewed as it
  works, and every write of the step is made only while it still holds it. Another copy
  waits for the holder's outcome and answers it: the step's output once it has finished,
  its failure (ListRejected with the same sentence) once it has failed. A holder gone quiet
  past its lease (a process killed, a Lambda timed out) is taken over by the next copy; if
  it was only slow, its next write finds the step is no longer its own (ClaimLost) and it
  turns into a waiter itself. A copy that has waited as long as its invocation allows
  raises StepBusy, which the state machine retries. So any number of copies, in any order,
  run the step once.

All or nothing, as people see it: ImportList writes every payment of the list, their
PaymentRegistered events, and the list's "imported" in ONE transaction. Before its commit
no payment of the list exists for anyone (API, admin, BI, notifications); after it, all of
them do. One transaction rather than chunks made visible by a final flip: the flip would be
an UPDATE of every imported row (a million index entries rewritten), where the single
INSERT ... SELECT costs what the chunks cost together. A crash or an error inside it is a
rollback; so CompensateError never deletes a payment (there is none to take back), only the
list's staged rows. On SQLite the transaction holds the write lock while it runs (about half
a minute for a million rows); other writers queue for it.
"""

import contextlib
import contextvars
import csv
import functools
import hashlib
import logging
import tempfile
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.files import File
from django.core.mail import send_mail
from django.db import DatabaseError, IntegrityError, OperationalError, connection, transaction
from django.db.models import Exists, Max, OuterRef, Q, Sum
from django.utils import timezone

from accounts.models import mail_address
from core.csvsafe import neutralise
from core.observability import count_metric, timed
from events.outbox import emit, emit_rows
from payment_lists import fastpath
from payment_lists import rows as csv_rows
from payment_lists.models import UNFINISHED, PaymentList, PaymentListRow
from payments.events import PAYMENT_REGISTERED
from payments.models import Payment
from payments.services import SubscriptionLimitExceeded, check_subscription_limits
from rides.models import Ride

logger = logging.getLogger(__name__)

STAGE_CHUNK = 20_000
PROGRESS_EVERY = 50_000
FIRST_ERRORS = 100
CLASH_REASON = "a payment with this reference was registered while the list was being imported"
KNOWN_REFERENCE = "a payment with this reference already exists"
NAMED_CLASHES = 10  # references named in a failure's sentence; the report has them all
LIST_IMPORTED = "payments.PaymentListImported"
LIST_FAILED = "payments.PaymentListFailed"

REGISTER, VALIDATE, VERIFY, IMPORT = (
    "RegisterList",
    "ValidateList",
    "VerifySubscription",
    "ImportList",
)
ORDER = (REGISTER, VALIDATE, VERIFY, IMPORT)
STATUS_DURING = {
    REGISTER: PaymentList.Status.VALIDATING,
    VALIDATE: PaymentList.Status.VALIDATING,
    VERIFY: PaymentList.Status.VERIFYING,
    IMPORT: PaymentList.Status.IMPORTING,
}

# The steps as the operator's page and the failure messages say them.
IN_WORDS = {
    REGISTER: "receiving the file",
    VALIDATE: "checking the rows",
    VERIFY: "checking the subscription",
    IMPORT: "importing the payments",
    "CompensateError": "undoing the import",
}

# A copy of a step's task holds the step this long without showing progress (it renews the
# hold at every chunk staged, page checked, statement of the import); past it, it counts as
# dead and another copy takes the step over. Longer than any single statement of a step.
STEP_LEASE_SECONDS = 60
# How long a copy waits for another copy holding its step (a Step Functions task: less
# than the function's timeout, aws.run_step), and how often it looks again meanwhile.
STEP_WAIT_SECONDS = 120
STEP_POLL_SECONDS = 0.25


def in_words(step_name: str) -> str:
    return IN_WORDS.get(step_name, step_name)


def unexpected_failure(step_name: str) -> str:
    """The failure sentence of an error that is not the list's fault (a bug, a database
    that refused something it should not have)."""
    return (
        f"Something went wrong while {in_words(step_name)}; "
        "nothing was imported. Re-run the list; if it fails again, tell support."
    )


class ListRejected(Exception):
    """The list cannot be imported, for a reason the submitter can act on."""


class StepBusy(Exception):
    """Another copy of this run's step (Step Functions retried a task it lost track of while
    that one still ran) holds it, alive, and this copy waited as long as it may: worth a
    retry, which waits again, or finds the step's outcome."""


class ClaimLost(Exception):
    """This copy went quiet past its hold on the step and another copy took it over: it
    writes nothing more and waits for that copy's outcome instead."""


class Stale(Exception):
    """This trigger belongs to a run that does not own the list (a repeat, a run taken over
    after it stopped answering, a list already finished): nothing to do, nothing to undo."""


def lease_until():
    """How long a run may go without showing progress before it counts as dead."""
    return timezone.now() + timedelta(seconds=settings.PAYMENT_LIST_LEASE_SECONDS)


def _list(payload) -> PaymentList:
    return PaymentList.objects.select_related("organization").get(pk=payload["payment_list_id"])


def _mark(payment_list: PaymentList, **fields) -> None:
    """Save fields of a list this run owns and that is not finished; Stale if another run
    has taken it over, or if it finished meanwhile (a copy of this task that ran at the
    same time, a Step Functions retry of it, finished it: this one must not take it back).
    A list held by this copy of its step (`_begin`): only while it still holds it, and the
    hold renewed (ClaimLost if another copy took the step over)."""
    owned = PaymentList.objects.filter(pk=payment_list.pk, run_token=payment_list.run_token)
    holder = getattr(payment_list, "holder", "")
    if holder:
        owned = owned.filter(step_holder=holder)
        fields.setdefault("step_held_until", _hold_until())
        fields.setdefault("lease_until", lease_until())
    if not owned.filter(status__in=UNFINISHED).update(**fields):
        if holder and _unfinished_of_this_run(payment_list).exists():
            raise ClaimLost(f"List #{payment_list.pk}: another copy of this step took it over.")
        raise Stale(f"List #{payment_list.pk} is no longer this run's, or has moved on.")
    for name, value in fields.items():
        setattr(payment_list, name, value)


def _renew(payment_list: PaymentList) -> None:
    """Show the holder is alive: its hold on the step, and the run's lease, pushed back."""
    _mark(payment_list)


def _hold_until():
    return timezone.now() + timedelta(seconds=STEP_LEASE_SECONDS)


def _unfinished_of_this_run(payment_list: PaymentList):
    return PaymentList.objects.filter(
        pk=payment_list.pk, run_token=payment_list.run_token, status__in=UNFINISHED
    )


def _output(payload: dict, **more) -> dict:
    return {"payment_list_id": payload["payment_list_id"], "run": payload.get("run"), **more}


def _owned(payload: dict) -> PaymentList:
    payment_list = _list(payload)
    if not payload.get("run") or payment_list.run_token != payload["run"]:
        raise Stale(f"List #{payment_list.pk} belongs to another run.")
    if payment_list.is_finished:
        raise Stale(f"List #{payment_list.pk} is already {payment_list.status}.")
    return payment_list


_wait_until = contextvars.ContextVar("payment_list_step_wait_until", default=None)


@contextlib.contextmanager
def waiting_at_most(seconds: float):
    """Copies of a step started inside wait at most `seconds` for another copy holding it
    (then StepBusy): a Step Functions task, for less than its invocation has left."""
    token = _wait_until.set(time.monotonic() + max(0.0, seconds))
    try:
        yield
    finally:
        _wait_until.reset(token)


def _pause() -> None:
    time.sleep(STEP_POLL_SECONDS)


def _begin(payload: dict, step: str) -> PaymentList | None:
    """The list, held by this copy of `step`'s task, if the step is to run now; None if
    this run already finished it (a copy of this task did). While another copy holds it,
    alive, this one waits for its outcome: done (None), failed (ListRejected with its
    sentence), or gone quiet past its hold (taken over here)."""
    here = ORDER.index(step)
    holder = uuid.uuid4().hex
    deadline = _wait_until.get() or time.monotonic() + STEP_WAIT_SECONDS
    while True:
        payment_list = _owned(payload)
        done = ORDER.index(payment_list.step_done) if payment_list.step_done else -1
        if done >= here:
            return None
        if done != here - 1:
            raise Stale(f"{step} cannot run before {ORDER[here - 1]} has finished.")
        if payment_list.failure_reason:  # a copy of this step failed it: its outcome
            raise ListRejected(payment_list.failure_reason)
        now = timezone.now()
        held_until = payment_list.step_held_until
        if not payment_list.step_holder or held_until is None or held_until < now:
            # Free, or its holder went quiet past its hold: claim it, from the step read
            # above only (never back from a later one), unless another copy got there first.
            taken = (
                PaymentList.objects.filter(
                    pk=payment_list.pk,
                    run_token=payment_list.run_token,
                    status__in=UNFINISHED,
                    step_done=payment_list.step_done,
                    step_holder=payment_list.step_holder,
                    failure_reason="",
                )
                .filter(Q(step_held_until__isnull=True) | Q(step_held_until=held_until))
                .update(
                    step_holder=holder,
                    step_held_until=_hold_until(),
                    status=STATUS_DURING[step],
                    current_step=step,
                    lease_until=lease_until(),
                )
            )
            if taken:
                if payment_list.step_holder:
                    logger.warning(
                        "List %s: %s taken over from a copy that went quiet",
                        payment_list.pk,
                        step,
                    )
                payment_list.refresh_from_db()
                payment_list.holder = holder
                return payment_list
            # Another copy claimed it first, or the list moved on: look again, after a pause.
        if time.monotonic() >= deadline:
            raise StepBusy(
                f"Another attempt at {in_words(step)} was still under way; "
                "nothing was imported. Re-run the list."
            )
        _pause()


def _finished(payment_list: PaymentList, step: str) -> None:
    """The step done: the list passes on, the hold given back."""
    _mark(payment_list, step_done=step, step_holder="", step_held_until=None)
    payment_list.holder = ""


def _fail_step(payment_list: PaymentList, step: str, reason: str) -> None:
    """The holder's failure kept on the list (the step and its sentence, as CompensateError
    keeps them), the hold given back: a copy waiting for the step answers the same failure,
    and the recovery pass compensates with it if no compensation comes."""
    try:
        _mark(
            payment_list,
            failed_step=step,
            failure_reason=reason,
            step_holder="",
            step_held_until=None,
        )
    except (ClaimLost, Stale, DatabaseError):
        logger.warning("List %s: the failure of %s could not be kept", payment_list.pk, step)


def _release(payment_list: PaymentList, lost: bool) -> None:
    """Give the step back after a failure worth a retry (the database cut off), so a retry
    takes it at once instead of waiting out the hold; over a new connection if the old one
    was `lost`. If the database cannot be reached either, the hold runs out by itself."""
    try:
        if lost and not connection.in_atomic_block:
            connection.close()
        PaymentList.objects.filter(
            pk=payment_list.pk, run_token=payment_list.run_token, step_holder=payment_list.holder
        ).update(step_holder="", step_held_until=None)
    except DatabaseError:
        logger.warning("List %s: its step could not be given back", payment_list.pk)


def _one_copy_at_a_time(step: str, work):
    """The task of `step`: `work(payload, payment_list)` run by the copy that holds the step
    (`_begin`), its outcome kept for the copies waiting for it."""

    @functools.wraps(work)
    def task(payload: dict) -> dict:
        while True:
            payment_list = _begin(payload, step)
            if payment_list is None:
                return _output(payload, **({"done": True} if step == IMPORT else {}))
            try:
                return work(payload, payment_list)
            except ClaimLost as lost:
                logger.warning("List %s: %s", payment_list.pk, lost)
                continue  # wait for the copy that took it over
            except (Stale, StepBusy) as error:
                if isinstance(error, StepBusy):
                    _release(payment_list, lost=False)
                raise
            except ListRejected as rejected:
                _fail_step(payment_list, step, str(rejected))
                raise
            except Exception as error:
                if fastpath.connection_lost(error):
                    _release(payment_list, lost=True)
                else:
                    _fail_step(payment_list, step, unexpected_failure(step))
                raise

    return task


# --- RegisterList -----------------------------------------------------------------------


def _register(payload: dict, payment_list: PaymentList) -> dict:
    """Checksum the stored file; the same file twice from one organization is refused."""
    if not payment_list.file or not payment_list.file.storage.exists(payment_list.file.name):
        raise ListRejected(
            "The file never arrived in storage; nothing was imported. Upload it again."
        )
    digest = hashlib.sha256()
    with payment_list.file.open("rb") as stored:
        for block in iter(lambda: stored.read(1 << 20), b""):
            digest.update(block)
    checksum = digest.hexdigest()
    _mark(payment_list, checksum=checksum, started_at=payment_list.started_at or timezone.now())
    earlier = (
        PaymentList.objects.filter(organization=payment_list.organization, checksum=checksum)
        .exclude(pk=payment_list.pk)
        .exclude(status=PaymentList.Status.FAILED)
        # Not a copy sent after this one and still running: it meets this one in its own
        # RegisterList. Two copies sent at once: the later is refused, the first goes on.
        .filter(Q(pk__lt=payment_list.pk) | Q(status=PaymentList.Status.IMPORTED))
        .order_by("pk")
        .first()
    )
    if earlier is not None:
        raise ListRejected(f"This file was already submitted as list #{earlier.pk}.")
    _finished(payment_list, REGISTER)
    return _output(payload)


register_list = _one_copy_at_a_time(REGISTER, _register)


# --- ValidateList -----------------------------------------------------------------------

STAGED_COLUMNS = [
    "payment_list_id",
    "row_number",
    "reference",
    "payer_email",
    "amount_minor",
    "currency",
    "ride_id",
]


REPORT_VALUE_CHARS = 200  # a value in the error report is cut after this many characters


class _ErrorReport:
    """Errors streamed to a CSV file; the first 100 kept for the admin.

    Bounded whatever the file: at most PAYMENT_LIST_ERROR_REPORT_MAX_ROWS problems are
    written, each value cut to REPORT_VALUE_CHARS, and a last line counts the problems left
    out (errors_count is always the full count)."""

    def __init__(self):
        # Closed by save_to(), or with the process: the report may be larger than memory.
        self.file = tempfile.TemporaryFile(mode="w+", newline="", encoding="utf-8")  # noqa: SIM115
        self.writer = csv.writer(self.file)
        # A byte-order mark, so spreadsheets read the values as UTF-8 (as the admin's exports).
        self.file.write("\ufeff")
        self.writer.writerow(["row", "column", "value", "reason"])
        self.count = 0
        self.first = []

    def add(self, error: csv_rows.RowError) -> None:
        self.count += 1
        if self.count <= settings.PAYMENT_LIST_ERROR_REPORT_MAX_ROWS:
            value = str(error.value)
            if len(value) > REPORT_VALUE_CHARS:
                value = value[:REPORT_VALUE_CHARS] + "…"
            self.writer.writerow([error.row, error.column, neutralise(value), error.reason])
        if len(self.first) < FIRST_ERRORS:
            self.first.append(error.as_list())

    def save_to(self, payment_list: PaymentList) -> None:
        left_out = self.count - settings.PAYMENT_LIST_ERROR_REPORT_MAX_ROWS
        if left_out > 0:
            self.writer.writerow(["", "", "", f"{left_out:,} more problem(s) not listed here"])
        self.file.seek(0)
        payment_list.error_report.save(
            f"list-{payment_list.pk}-errors.csv", File(self.file), save=False
        )
        _mark(
            payment_list,
            error_report=payment_list.error_report.name,
            errors_count=self.count,
            first_errors=sorted(self.first)[:FIRST_ERRORS],
        )
        self.file.close()


def _stage(payment_list: PaymentList, report: _ErrorReport) -> int:
    """Parse the file, stage the well-formed rows in chunks; return how many rows it has."""
    currencies = csv_rows.known_currencies()
    chunk, rows = [], 0
    with payment_list.file.open("rb") as stored:
        text = csv_rows.open_text(stored)
        try:
            for number, cells in csv_rows.read_rows(text):
                rows += 1
                staged, errors = csv_rows.check_row(number, cells, currencies)
                for error in errors:
                    report.add(error)
                if staged:
                    *cells_ok, ride_id = staged
                    chunk.append((payment_list.pk, number, *cells_ok, fastpath.db_uuid(ride_id)))
                if len(chunk) >= STAGE_CHUNK:
                    _flush(chunk, payment_list)
                if rows % PROGRESS_EVERY == 0:
                    _mark(payment_list, rows_validated=rows, lease_until=lease_until())
        except UnicodeDecodeError as error:
            raise ListRejected(f"The file is not UTF-8 text (byte {error.start}).") from error
        except (csv_rows.HeaderError, csv_rows.LineTooLong) as error:
            raise ListRejected(str(error)) from error
        except csv.Error as error:
            raise ListRejected(f"The file is not valid CSV: {error}.") from error
    _flush(chunk, payment_list)
    return rows


def _flush(chunk: list, payment_list: PaymentList) -> None:
    """Stage a chunk, in one transaction with the renewal of this copy's hold: only while it
    holds the step (the renewal locks the list's row until the commit, so no other copy
    takes the step over in between)."""
    with transaction.atomic():
        _renew(payment_list)
        fastpath.copy_rows(PaymentListRow, STAGED_COLUMNS, chunk)
    chunk.clear()


PAGE = 50_000  # error rows read per statement


def _in_pages(rows, field: str, payment_list: PaymentList | None = None):
    """(row_number, value) of staged `rows` in row order, a page per statement: no cursor is
    held between statements (behind a pooler in transaction mode each statement may reach
    another server connection, and a client-side cursor would hold every row). With
    `payment_list`, its holder's hold is renewed after each page."""
    after = 0
    while True:
        page = rows.filter(row_number__gt=after).order_by("row_number")
        page = list(page.values_list("row_number", field)[:PAGE])
        if payment_list is not None:
            _renew(payment_list)
        yield from page
        if len(page) < PAGE:
            return
        after = page[-1][0]


def _repeated_in_pages(payment_list: PaymentList):
    """(row_number, reference) of every row after the first of its reference, in pages.

    Not a correlated "earlier row exists": without statistics SQLite answers that from the
    (list, row_number) index, a scan of all earlier rows per row (hours for a million). One
    pass over the (list, reference) index finds the repeated references; only their rows are
    numbered.
    """
    quote = connection.ops.quote_name
    staged, number = quote(PaymentListRow._meta.db_table), quote("row_number")
    sql = f"""
        SELECT {number}, reference FROM (
            SELECT {number}, reference,
                ROW_NUMBER() OVER (PARTITION BY reference ORDER BY {number}) AS nth
            FROM {staged} WHERE payment_list_id = %s AND reference IN (
                SELECT reference FROM {staged} WHERE payment_list_id = %s
                GROUP BY reference HAVING COUNT(*) > 1
            )
        ) numbered WHERE nth > 1 AND {number} > %s ORDER BY {number} LIMIT {PAGE}
    """  # noqa: S608 (table and column names from the model, values as parameters)
    after = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(sql, [payment_list.pk, payment_list.pk, after])
            page = cursor.fetchall()
        _renew(payment_list)
        yield from page
        if len(page) < PAGE:
            return
        after = page[-1][0]


def _clashing(payment_list: PaymentList):
    """Staged rows whose reference a payment already has."""
    staged = PaymentListRow.objects.filter(payment_list=payment_list)
    return staged.filter(Exists(Payment.objects.filter(reference=OuterRef("reference"))))


def _database_errors(payment_list: PaymentList):
    """Errors only the database can see: repeated references, known references, rides."""
    staged = PaymentListRow.objects.filter(payment_list=payment_list)
    no_ride = staged.filter(ride_id__isnull=False).exclude(
        Exists(Ride.objects.filter(pk=OuterRef("ride_id")))
    )
    checks = [
        (_repeated_in_pages(payment_list), "reference", "appears earlier in the file"),
        (
            _in_pages(_clashing(payment_list), "reference", payment_list),
            "reference",
            KNOWN_REFERENCE,
        ),
        (_in_pages(no_ride, "ride_id", payment_list), "ride_id", "no such ride"),
    ]
    for rows, column, reason in checks:
        for number, value in rows:
            yield csv_rows.RowError(number, column, str(value), reason)


def totals_of(payment_list: PaymentList) -> dict[str, int]:
    """{currency: minor units} of the list's staged rows; currencies are never added up."""
    sums = (
        PaymentListRow.objects.filter(payment_list=payment_list)
        .order_by()
        .values("currency")
        .annotate(minor=Sum("amount_minor"))
    )
    return {row["currency"]: row["minor"] for row in sorted(sums, key=lambda r: r["currency"])}


def _validate(payload: dict, payment_list: PaymentList) -> dict:
    """Check every row (format, then uniqueness and rides in SQL); any error rejects the list."""
    _clear_staged(payment_list)  # a repeat after a crash, or a copy taking over, starts clean
    _mark(payment_list, rows_total=None, rows_validated=0, errors_count=0, first_errors=[])
    report = _ErrorReport()
    try:
        rows = _stage(payment_list, report)
    except IntegrityError as error:  # a staged row's number taken (held steps prevent it)
        raise StepBusy(
            "The rows were being checked twice at once (a retried task); nothing was "
            "imported. Re-run the list."
        ) from error
    for error in _database_errors(payment_list):
        report.add(error)
    totals = totals_of(payment_list)
    _mark(payment_list, rows_total=rows, rows_validated=rows, totals=totals)
    if report.count:
        report.save_to(payment_list)
        raise ListRejected(
            f"{report.count} problem(s) in the file; nothing was imported. See the error report."
        )
    if rows == 0:
        raise ListRejected("The file has no payment rows.")
    _finished(payment_list, VALIDATE)
    return _output(payload)


validate_list = _one_copy_at_a_time(VALIDATE, _validate)


# --- VerifySubscription ------------------------------------------------------------------


def _verify(payload: dict, payment_list: PaymentList) -> dict:
    """The organization needs an active subscription whose limits cover this list: its
    rows, and its total in each currency against the plan's limit in that currency
    (payments.services.check_subscription_limits; currencies are never added)."""
    try:
        check_subscription_limits(
            organization=payment_list.organization,
            rows_count=payment_list.rows_total or 0,
            totals_by_currency=payment_list.totals or {},
        )
    except SubscriptionLimitExceeded as error:
        raise ListRejected(error.detail) from error
    _finished(payment_list, VERIFY)
    return _output(payload)


verify_subscription = _one_copy_at_a_time(VERIFY, _verify)


# --- ImportList ---------------------------------------------------------------------------


def _import_all(payload: dict, payment_list: PaymentList) -> dict:
    """Import the whole list in one transaction (see the module's docstring); then clear
    its staged rows. Returns done: the state machine's ImportList loop ends at once.

    Once it commits, the outbox hands on one batch of the list's PaymentRegistered events
    (events.relay.relay_after_commit: all of a list of up to RELAY_BATCH rows), then its
    PaymentListImported, and the submitter's mail goes. The payers of a larger list beyond
    that batch are told by the scheduled relay (events.aws.relay_on_schedule; locally
    `manage.py relay_events --loop`), not by this step: a relay pass here kept it (and the
    submitter's mail) up to EVENTS_RELAY_SECONDS for what the schedule publishes anyway."""
    for attempt in range(1, DEADLOCK_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                _import(payment_list)
            break
        except IntegrityError as error:
            _reject_clashes(payment_list, error)
        except OperationalError as error:
            # Two lists sharing references, inserted at once in different orders: the
            # database gives up on one of them. Again, it waits for the other's commit
            # and then meets its references (IntegrityError above), or imports.
            if not _deadlock(error) or attempt == DEADLOCK_ATTEMPTS:
                raise
            logger.warning("List %s: deadlock on import, trying again", payment_list.pk)
    with timed("clear staged rows"):
        _clear_staged(payment_list)
    return _output(payload, done=True)


import_list = _one_copy_at_a_time(IMPORT, _import_all)


DEADLOCK_ATTEMPTS = 3


def _deadlock(error: OperationalError) -> bool:
    return getattr(error.__cause__, "sqlstate", None) == "40P01"


def _import(payment_list: PaymentList) -> None:
    # The list's row locked until the commit: while the import runs no other copy of this
    # task takes the step over (its claim waits for the commit, then finds it imported).
    locked = PaymentList.objects.select_for_update().get(pk=payment_list.pk)
    if locked.run_token != payment_list.run_token or locked.is_finished:
        raise Stale(f"List #{payment_list.pk} is no longer this run's to import.")
    if locked.step_holder != payment_list.holder or locked.step_done != VERIFY:
        raise ClaimLost(f"List #{payment_list.pk}: another copy of ImportList took it over.")
    with timed("insert payments"):
        imported = _insert_payments(payment_list)
    with timed("insert events"):
        _insert_payment_events(payment_list)
    _mark(
        payment_list,
        status=PaymentList.Status.IMPORTED,
        step_done=IMPORT,
        current_step="",
        rows_imported=imported,
        finished_at=timezone.now(),
        lease_until=None,
        step_holder="",
        step_held_until=None,
    )
    payment_list.holder = ""
    count_metric("ListRowsImported", imported)
    emit(LIST_IMPORTED, _list_event_data(payment_list))
    _tell_submitter(
        payment_list,
        f"Payment list #{payment_list.pk} imported",
        f"All {imported} payments of {payment_list.original_name} are registered.",
    )


def _reject_clashes(payment_list: PaymentList, error: IntegrityError) -> None:
    """A reference registered since ValidateList (through the API, another list): the
    import rolled back; the failure names the references and the report lists them."""
    report = _ErrorReport()
    reason = CLASH_REASON
    for number, reference in _in_pages(_clashing(payment_list), "reference"):
        report.add(csv_rows.RowError(number, "reference", reference, reason))
    if not report.count:
        logger.error("List %s: import refused by the database: %s", payment_list.pk, error)
        raise ListRejected(
            "The database refused the payments (a ride or payer changed meanwhile); "
            "nothing was imported. Re-run the list."
        ) from error
    named = [row[2] for row in report.first[:NAMED_CLASHES]]
    more = f" and {report.count - len(named)} more" if report.count > len(named) else ""
    report.save_to(payment_list)
    raise ListRejected(
        f"{report.count} reference(s) were registered by someone else while the list was "
        f"being imported: {', '.join(named)}{more}. Nothing was imported; see the error report."
    ) from error


def _staged_rows(payment_list: PaymentList, after: int, upper: int):
    return PaymentListRow.objects.filter(
        payment_list=payment_list, row_number__gt=after, row_number__lte=upper
    )


def _clear_staged(payment_list: PaymentList) -> None:
    """Delete a list's staged rows a window of row numbers at a time.

    SQLite collects the rowids of a DELETE in memory before deleting (24 MB for a million
    rows); a window keeps that to a chunk's worth. By the holder of a step: in one
    transaction with the renewal of its hold, so only while it holds the step (a copy that
    went quiet and was taken over never deletes what the new holder staged).
    """
    held = bool(getattr(payment_list, "holder", ""))
    with transaction.atomic() if held else contextlib.nullcontext():
        if held:
            _renew(payment_list)
        staged = PaymentListRow.objects.filter(payment_list=payment_list)
        top = staged.aggregate(top=Max("row_number"))["top"] or 0
        size = settings.PAYMENT_LIST_IMPORT_CHUNK
        for after in range(0, top, size):
            _staged_rows(payment_list, after, after + size).delete()


def _insert_payments(payment_list: PaymentList) -> int:
    quote = connection.ops.quote_name
    payments, staged = quote(Payment._meta.db_table), quote(PaymentListRow._meta.db_table)
    users = quote(Payment.payer.field.related_model._meta.db_table)
    sql = f"""
        INSERT INTO {payments} (id, reference, amount_minor, currency, status, ride_id, payer_id,
            payer_email, organization_id, payment_list_id, registered_at, registered_by,
            verified_by, deleted_by)
        SELECT {fastpath.new_uuid_sql()}, s.reference, s.amount_minor, s.currency, 'registered',
            s.ride_id, u.id, s.payer_email, %s, %s, %s, %s, '', ''
        FROM {staged} s LEFT JOIN {users} u ON u.email = s.payer_email AND s.payer_email <> ''
        WHERE s.payment_list_id = %s
    """  # noqa: S608 (table names from the models, values as parameters)
    params = [
        payment_list.organization_id,
        payment_list.pk,
        timezone.now(),
        f"list:{payment_list.pk}",
        payment_list.pk,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def payment_event_data_sql(alias: str = "p") -> str:
    """payments.events.payment_data(payment) as an SQL JSON object over the payments table
    aliased `alias`: the same keys, types and text (tested)."""
    ride = fastpath.uuid_text_sql(f"{alias}.ride_id")
    ride_text = f"CASE WHEN {alias}.ride_id IS NULL THEN NULL ELSE {ride} END"
    return fastpath.json_object_sql(
        {
            "payment_id": fastpath.uuid_text_sql(f"{alias}.id"),
            "reference": f"{alias}.reference",
            "amount_minor": f"{alias}.amount_minor",
            "currency": f"{alias}.currency",
            "status": f"{alias}.status",
            "ride_id": ride_text,
            "payer_id": f"{alias}.payer_id",
            "payer_email": f"{alias}.payer_email",
            "organization_id": f"{alias}.organization_id",
        }
    )


def _insert_payment_events(payment_list: PaymentList) -> None:
    """One PaymentRegistered per imported payment, through the events app's outbox."""
    payments = connection.ops.quote_name(Payment._meta.db_table)
    emit_rows(
        PAYMENT_REGISTERED,
        data_sql=payment_event_data_sql("p"),
        from_sql=f"{payments} p WHERE p.payment_list_id = %s",
        params=[payment_list.pk],
        occurred_at_sql="p.registered_at",
    )


# --- CompensateError ------------------------------------------------------------------------


def compensate_error(payload: dict) -> dict:
    """Mark the list failed with the step and the reason, clear its staged rows, tell the
    submitter.

    It deletes no payment: a list's payments exist only once ImportList has committed, and
    an imported list is never compensated (Stale), so there is nothing anyone could have
    seen to take back. The step and reason are saved first: if this is killed half-way, the
    recovery pass finishes it with the same reason.
    """
    payment_list = _owned(payload)
    error = payload.get("error") or {}
    step = error.get("step") or payment_list.failed_step or payment_list.current_step
    reason = error.get("reason") or payment_list.failure_reason or "The import failed."
    _mark(payment_list, failed_step=step, failure_reason=reason, lease_until=lease_until())
    _clear_staged(payment_list)
    with transaction.atomic():
        locked = PaymentList.objects.select_for_update().get(pk=payment_list.pk)
        if locked.run_token != payment_list.run_token or locked.is_finished:
            raise Stale(f"List #{payment_list.pk} is no longer this run's.")
        _mark(
            payment_list,
            status=PaymentList.Status.FAILED,
            rows_imported=0,
            current_step="",
            finished_at=timezone.now(),
            lease_until=None,
            step_holder="",
            step_held_until=None,
        )
        emit(LIST_FAILED, {**_list_event_data(payment_list), "reason": reason})
        _tell_submitter(
            payment_list,
            f"Payment list #{payment_list.pk} was not imported",
            f"{payment_list.original_name}: {reason}",
        )
    return _output(payload, status="failed", reason=reason)


def _list_event_data(payment_list: PaymentList) -> dict:
    return {
        "payment_list_id": payment_list.pk,
        "organization_id": payment_list.organization_id,
        "rows_total": payment_list.rows_total,
        "rows_imported": payment_list.rows_imported,
        "totals": payment_list.totals,
    }


def _tell_submitter(payment_list: PaymentList, subject: str, body: str) -> None:
    if not payment_list.submitter_email:
        return
    recipient = [mail_address(payment_list.submitter_email)]  # SES: ASCII addresses only
    transaction.on_commit(
        lambda: send_mail(subject, body, None, recipient, fail_silently=True), robust=True
    )
