"""Submitting a payment list: store it in the inbox and start the workflow."""

from django.db import transaction

from payments import workflow
from payments.models import PaymentList


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


@transaction.atomic
def rerun_payment_list(payment_list: PaymentList) -> PaymentList:
    """Run a failed list's workflow again from the start (after its cause was fixed)."""
    from core.exceptions import Conflict

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
    transaction.on_commit(lambda: workflow.start_workflow(locked.pk))
    locked.refresh_from_db()
    return locked
