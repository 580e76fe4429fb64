"""The payment-list workflow's steps. Each takes one JSON-able dict and returns one.

The same functions run in-process (payment_lists.workflow) and as Step Functions tasks
(payment_lists.aws.run_step), so a step keeps nothing in memory between calls: what it learns
goes to the PaymentList row, its staged rows, or the dict it returns.
"""

import csv
import hashlib
import logging
import tempfile

from django.conf import settings
from django.core.files import File
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import Count, Exists, F, Max, OuterRef, Q, Sum, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from core.csvsafe import neutralise
from core.money import Money
from core.observability import count_metric
from events.services import emit
from payment_lists import fastpath
from payment_lists import rows as csv_rows
from payment_lists.models import PaymentList, PaymentListRow
from payments.models import Payment, Subscription
from rides.models import Ride

logger = logging.getLogger(__name__)

STAGE_CHUNK = 20_000
PROGRESS_EVERY = 50_000
FIRST_ERRORS = 100
LIST_IMPORTED = "payments.PaymentListImported"
LIST_FAILED = "payments.PaymentListFailed"


class ListRejected(Exception):
    """The list cannot be imported, for a reason the submitter can act on."""


def _list(payload) -> PaymentList:
    return PaymentList.objects.select_related("organization").get(pk=payload["payment_list_id"])


def _mark(payment_list: PaymentList, **fields) -> None:
    PaymentList.objects.filter(pk=payment_list.pk).update(**fields)
    for name, value in fields.items():
        setattr(payment_list, name, value)


# --- RegisterList -----------------------------------------------------------------------


def register_list(payload: dict) -> dict:
    """Checksum the stored file; the same file twice from one organization is refused."""
    payment_list = _list(payload)
    digest = hashlib.sha256()
    with payment_list.file.open("rb") as stored:
        for block in iter(lambda: stored.read(1 << 20), b""):
            digest.update(block)
    checksum = digest.hexdigest()
    _mark(payment_list, checksum=checksum, started_at=timezone.now(), current_step="RegisterList")
    earlier = (
        PaymentList.objects.filter(organization=payment_list.organization, checksum=checksum)
        .exclude(pk=payment_list.pk)
        .exclude(status=PaymentList.Status.FAILED)
        .first()
    )
    if earlier is not None:
        raise ListRejected(f"This file was already submitted as list #{earlier.pk}.")
    return {"payment_list_id": payment_list.pk}


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


class _ErrorReport:
    """Errors streamed to a CSV file; the first 100 kept for the admin."""

    def __init__(self):
        # Closed by save_to(), or with the process: the report may be larger than memory.
        self.file = tempfile.TemporaryFile(mode="w+", newline="", encoding="utf-8")  # noqa: SIM115
        self.writer = csv.writer(self.file)
        self.writer.writerow(["row", "column", "value", "reason"])
        self.count = 0
        self.first = []

    def add(self, error: csv_rows.RowError) -> None:
        self.count += 1
        self.writer.writerow([error.row, error.column, neutralise(error.value), error.reason])
        if len(self.first) < FIRST_ERRORS:
            self.first.append(error.as_list())

    def save_to(self, payment_list: PaymentList) -> None:
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
                    _flush(chunk)
                if rows % PROGRESS_EVERY == 0:
                    _mark(payment_list, rows_validated=rows)
        except UnicodeDecodeError as error:
            raise ListRejected(f"The file is not UTF-8 text (byte {error.start}).") from error
        except csv_rows.HeaderError as error:
            raise ListRejected(str(error)) from error
        except csv.Error as error:
            raise ListRejected(f"The file is not valid CSV: {error}.") from error
    _flush(chunk)
    return rows


def _flush(chunk: list) -> None:
    with transaction.atomic():
        fastpath.copy_rows(PaymentListRow, STAGED_COLUMNS, chunk)
    chunk.clear()


def _database_errors(payment_list: PaymentList):
    """Errors only the database can see: repeated references, known references, rides."""
    staged = PaymentListRow.objects.filter(payment_list=payment_list)
    # Every row after the first of its reference. Not a correlated "earlier row exists":
    # without statistics SQLite answers that from the (list, row_number) index, a scan of
    # all earlier rows per row (hours for a million). One pass over the (list, reference)
    # index finds the repeated references; only their rows are numbered.
    duplicated = staged.order_by().values("reference").annotate(rows=Count("*")).filter(rows__gt=1)
    repeated = (
        staged.filter(reference__in=duplicated.values("reference"))
        .annotate(
            nth=Window(RowNumber(), partition_by=[F("reference")], order_by=F("row_number").asc())
        )
        .filter(nth__gt=1)
    )
    known = staged.filter(Exists(Payment.objects.filter(reference=OuterRef("reference"))))
    no_ride = staged.filter(ride_id__isnull=False).exclude(
        Exists(Ride.objects.filter(pk=OuterRef("ride_id")))
    )
    checks = [
        (repeated, "reference", "reference", "appears earlier in the file"),
        (known, "reference", "reference", "a payment with this reference already exists"),
        (no_ride, "ride_id", "ride_id", "no such ride"),
    ]
    for rows, column, field, reason in checks:
        for number, value in rows.values_list("row_number", field).iterator(chunk_size=5000):
            yield csv_rows.RowError(number, column, str(value), reason)


def validate_list(payload: dict) -> dict:
    """Check every row (format, then uniqueness and rides in SQL); any error rejects the list."""
    payment_list = _list(payload)
    _mark(payment_list, status=PaymentList.Status.VALIDATING, current_step="ValidateList")
    _clear_staged(payment_list)  # a re-run starts clean
    report = _ErrorReport()
    rows = _stage(payment_list, report)
    for error in _database_errors(payment_list):
        report.add(error)
    total = PaymentListRow.objects.filter(payment_list=payment_list).aggregate(
        total=Sum("amount_minor")
    )["total"]
    _mark(payment_list, rows_total=rows, rows_validated=rows, total_minor=total or 0)
    if report.count:
        report.save_to(payment_list)
        raise ListRejected(
            f"{report.count} problem(s) in the file; nothing was imported. See the error report."
        )
    if rows == 0:
        raise ListRejected("The file has no payment rows.")
    return {"payment_list_id": payment_list.pk}


# --- VerifySubscription ------------------------------------------------------------------


def verify_subscription(payload: dict) -> dict:
    """The organization needs an active subscription whose limits cover this list."""
    payment_list = _list(payload)
    _mark(payment_list, status=PaymentList.Status.VERIFYING, current_step="VerifySubscription")
    now = timezone.now()
    active = Subscription.objects.filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=now),
        organization=payment_list.organization,
        starts_at__lte=now,
    )
    if not active.exists():
        raise ListRejected(f"{payment_list.organization} has no active subscription.")
    covering = active.filter(
        max_rows_per_list__gte=payment_list.rows_total,
        max_total_minor_per_list__gte=payment_list.total_minor,
    )
    if not covering.exists():
        best = active.order_by("-max_rows_per_list").first()
        total = Money(payment_list.total_minor, "USD")
        limit = Money(best.max_total_minor_per_list, "USD")
        raise ListRejected(
            f"The list has {payment_list.rows_total} rows totalling {total}; the {best.plan} "
            f"subscription allows {best.max_rows_per_list} rows and {limit} per list."
        )
    return {"payment_list_id": payment_list.pk}


# --- ImportList ---------------------------------------------------------------------------


def import_list(payload: dict) -> dict:
    """Import the next chunk of staged rows; the last chunk finishes the list.

    Each call commits one chunk (so a million rows fit Lambda's 15 minutes as a loop of
    short calls, and progress shows) and deletes the chunk's staged rows with it (a retried
    call then goes on with the next chunk). The list's events are written only with the last
    chunk, so a failure anywhere leaves nothing published; CompensateError removes the
    chunks already imported.
    """
    payment_list = _list(payload)
    after = payload.get("after_row", 0)
    if after == 0:
        _mark(payment_list, status=PaymentList.Status.IMPORTING, current_step="ImportList")
    upper = _chunk_upper_bound(payment_list, after)
    with transaction.atomic():
        if upper is not None:
            imported = _insert_payments(payment_list, after, upper)
            _staged_rows(payment_list, after, upper).delete()  # imported: not needed any more
            PaymentList.objects.filter(pk=payment_list.pk).update(
                rows_imported=payment_list.rows_imported + imported
            )
            payment_list.rows_imported += imported
            count_metric("ListRowsImported", imported)
        last = (
            upper is None
            or not PaymentListRow.objects.filter(
                payment_list=payment_list, row_number__gt=upper
            ).exists()
        )
        if last:
            _finish_import(payment_list)
    if last:
        return {"payment_list_id": payment_list.pk, "done": True}
    return {"payment_list_id": payment_list.pk, "after_row": upper, "done": False}


def _staged_rows(payment_list: PaymentList, after: int, upper: int):
    return PaymentListRow.objects.filter(
        payment_list=payment_list, row_number__gt=after, row_number__lte=upper
    )


def _clear_staged(payment_list: PaymentList) -> None:
    """Delete a list's staged rows a window of row numbers at a time.

    SQLite collects the rowids of a DELETE in memory before deleting (24 MB for a million
    rows); a window keeps that to a chunk's worth.
    """
    staged = PaymentListRow.objects.filter(payment_list=payment_list)
    top = staged.aggregate(top=Max("row_number"))["top"] or 0
    size = settings.PAYMENT_LIST_IMPORT_CHUNK
    for after in range(0, top, size):
        _staged_rows(payment_list, after, after + size).delete()


def _chunk_upper_bound(payment_list: PaymentList, after: int) -> int | None:
    size = settings.PAYMENT_LIST_IMPORT_CHUNK
    rows = PaymentListRow.objects.filter(payment_list=payment_list, row_number__gt=after)
    bound = rows.order_by("row_number").values_list("row_number", flat=True)[size - 1 : size]
    bound = list(bound)
    if bound:
        return bound[0]
    return rows.order_by("-row_number").values_list("row_number", flat=True).first()


def _insert_payments(payment_list: PaymentList, after: int, upper: int) -> int:
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
        WHERE s.payment_list_id = %s AND s.row_number > %s AND s.row_number <= %s
    """  # noqa: S608 (table names from the models, values as parameters)
    params = [
        payment_list.organization_id,
        payment_list.pk,
        timezone.now(),
        f"list:{payment_list.pk}",
        payment_list.pk,
        after,
        upper,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _insert_payment_events(payment_list: PaymentList) -> None:
    """One PaymentRegistered per imported row, written set-based into the outbox."""
    from events.models import OutboxEvent

    quote = connection.ops.quote_name
    outbox, payments = quote(OutboxEvent._meta.db_table), quote(Payment._meta.db_table)
    ride_text = (
        f"CASE WHEN p.ride_id IS NULL THEN NULL ELSE {fastpath.uuid_text_sql('p.ride_id')} END"
    )
    data = fastpath.json_object_sql(
        {
            "payment_id": fastpath.uuid_text_sql("p.id"),
            "reference": "p.reference",
            "amount_minor": "p.amount_minor",
            "currency": "p.currency",
            "status": "p.status",
            "ride_id": ride_text,
            "payer_id": "p.payer_id",
            "payer_email": "p.payer_email",
            "organization_id": "p.organization_id",
        }
    )
    if connection.vendor == "postgresql":
        data = data.replace("json_build_object", "jsonb_build_object")
    sql = f"""
        INSERT INTO {outbox} (id, type, version, occurred_at, data, publish_attempts, last_error)
        SELECT {fastpath.new_uuid_sql()}, 'payments.PaymentRegistered', 1, %s, {data}, 0, ''
        FROM {payments} p WHERE p.payment_list_id = %s
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [timezone.now(), payment_list.pk])


def _finish_import(payment_list: PaymentList) -> None:
    _insert_payment_events(payment_list)
    _mark(
        payment_list,
        status=PaymentList.Status.IMPORTED,
        current_step="",
        finished_at=timezone.now(),
    )
    emit(LIST_IMPORTED, _list_event_data(payment_list))
    _tell_submitter(
        payment_list,
        f"Payment list #{payment_list.pk} imported",
        f"All {payment_list.rows_imported} payments of {payment_list.original_name} are "
        "registered.",
    )


# --- CompensateError ------------------------------------------------------------------------


def compensate_error(payload: dict) -> dict:
    """Undo what the failed run left (imported chunks, staged rows) and tell the submitter."""
    payment_list = _list(payload)
    error = payload.get("error") or {}
    reason = error.get("reason") or "The import failed."
    with transaction.atomic():
        Payment.objects.filter(payment_list_id=payment_list.pk).delete()
        _mark(
            payment_list,
            status=PaymentList.Status.FAILED,
            failed_step=error.get("step", ""),
            failure_reason=reason,
            rows_imported=0,
            current_step="",
            finished_at=timezone.now(),
        )
        emit(LIST_FAILED, {**_list_event_data(payment_list), "reason": reason})
        _tell_submitter(
            payment_list,
            f"Payment list #{payment_list.pk} was not imported",
            f"{payment_list.original_name}: {reason}",
        )
    _clear_staged(payment_list)
    return {"payment_list_id": payment_list.pk, "status": "failed", "reason": reason}


def _list_event_data(payment_list: PaymentList) -> dict:
    return {
        "payment_list_id": payment_list.pk,
        "organization_id": payment_list.organization_id,
        "rows_total": payment_list.rows_total,
        "rows_imported": payment_list.rows_imported,
        "total_minor": payment_list.total_minor,
    }


def _tell_submitter(payment_list: PaymentList, subject: str, body: str) -> None:
    if not payment_list.submitter_email:
        return
    recipient = [payment_list.submitter_email]
    transaction.on_commit(
        lambda: send_mail(subject, body, None, recipient, fail_silently=True), robust=True
    )
