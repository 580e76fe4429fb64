"""Submitting a payment list: store it in the inbox and start the workflow.

Also the way back from a run that died without finishing (its process killed, its Lambda
timed out, its Step Functions execution aborted): such a list stays "validating",
"verifying" or "importing" with no progress, possibly with some imported chunks. It is
found by `interrupted_lists`, compensated by `compensate_interrupted_list` (CompensateError:
nothing half imported stays, the list is marked failed) and can then be re-run.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.http import FileResponse
from django.utils import timezone

from core.exceptions import Conflict
from payment_lists import workflow
from payment_lists.models import PaymentList
from payments.models import Payment

UNFINISHED = (
    PaymentList.Status.RECEIVED,
    PaymentList.Status.VALIDATING,
    PaymentList.Status.VERIFYING,
    PaymentList.Status.IMPORTING,
)
# A live run shows progress (a committed chunk) far more often than this; Lambda stops a
# step after 15 minutes at most.
QUIET_BEFORE_INTERRUPTED = timedelta(minutes=30)


@transaction.atomic
def submit_payment_list(
    *, organization, uploaded_file, submitted_by: str, submitter_email: str = ""
):
    """Save the CSV under inbox/ in the default storage and start the import after commit."""
    payment_list = PaymentList(
        organization=organization,
        original_name=(uploaded_file.name or "payments.csv")[:255],
        submitted_by=submitted_by,
        submitter_email=submitter_email,
    )
    payment_list.file.save(uploaded_file.name or "payments.csv", uploaded_file, save=False)
    payment_list.save()
    transaction.on_commit(lambda: workflow.start_workflow(payment_list.pk))
    return payment_list


def _start_again(payment_list_id: int, *, here: bool) -> None:
    if here:
        workflow.run_workflow(payment_list_id)
    elif settings.PAYMENT_LIST_RUNNER == "stepfunctions":
        # A first run starts from the S3 upload event; a re-run has no upload: start it here.
        from payment_lists import aws

        aws.start_execution(payment_list_id)
    else:
        workflow.start_workflow(payment_list_id)


@transaction.atomic
def rerun_payment_list(payment_list: PaymentList, *, here: bool = False) -> PaymentList:
    """Run a failed list's workflow again from the start (after its cause was fixed).

    `here`: run it in this process after commit (a management command, whose background
    thread would die with it) instead of the way the deployment runs workflows.
    """
    locked = PaymentList.objects.select_for_update().get(pk=payment_list.pk)
    if locked.status != PaymentList.Status.FAILED:
        raise Conflict(f"Only a failed list can be re-run; this one is {locked.status}.")
    PaymentList.objects.filter(pk=locked.pk).update(
        status=PaymentList.Status.RECEIVED,
        failed_step="",
        failure_reason="",
        errors_count=0,
        first_errors=[],
        rows_validated=0,
        rows_imported=0,
        finished_at=None,
    )
    transaction.on_commit(lambda: _start_again(locked.pk, here=here))
    locked.refresh_from_db()
    return locked


def last_sign_of_life(payment_list: PaymentList):
    """When the list's run last showed progress: its creation, its start, or the commit of
    its newest imported chunk."""
    newest_chunk = Payment.objects.filter(payment_list_id=payment_list.pk).aggregate(
        newest=Max("registered_at")
    )["newest"]
    moments = (payment_list.created_at, payment_list.started_at, newest_chunk)
    return max(moment for moment in moments if moment)


def interrupted_lists(*, quiet_for: timedelta = QUIET_BEFORE_INTERRUPTED) -> list[PaymentList]:
    """Unfinished lists whose run has shown no sign of life for `quiet_for`."""
    cutoff = timezone.now() - quiet_for
    candidates = PaymentList.objects.filter(status__in=UNFINISHED, created_at__lte=cutoff)
    return [pl for pl in candidates.order_by("pk") if last_sign_of_life(pl) <= cutoff]


def compensate_interrupted_list(payment_list: PaymentList) -> PaymentList:
    """CompensateError for a run that died before it could run it: the chunks it imported
    are removed, its staged rows too, and the list is marked failed with the reason."""
    payment_list.refresh_from_db()
    if payment_list.status not in UNFINISHED:
        raise Conflict(f"List #{payment_list.pk} is {payment_list.status}, not interrupted.")
    step = payment_list.current_step or payment_list.status
    reason = (
        f"The import stopped during {step} without finishing (the process running it "
        "ended); nothing was imported. Re-run the list."
    )
    error = {"step": payment_list.current_step, "reason": reason}
    workflow.run_step_timed(
        workflow.COMPENSATE, {"payment_list_id": payment_list.pk, "error": error}
    )
    payment_list.refresh_from_db()
    return payment_list


def error_report_response(payment_list: PaymentList) -> FileResponse:
    """The list's error report as a CSV download (admin and API share it)."""
    return FileResponse(
        payment_list.error_report.open("rb"),
        as_attachment=True,
        filename=f"payment-list-{payment_list.pk}-errors.csv",
        content_type="text/csv",
    )
