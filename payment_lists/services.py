"""Submitting a payment list, re-running a failed one, its error report.

How a run starts, and how one that died is finished, is payment_lists.runs.
"""

import logging
import tempfile

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.http import FileResponse
from django.utils import timezone

from accounts.models import Scope
from core.exceptions import Conflict, DomainError
from organizations.models import Organization
from organizations.services import organization_acted_for
from payment_lists import runs
from payment_lists.models import PaymentList, _inbox_path

logger = logging.getLogger(__name__)


class SubmitRefused(DomainError):
    status_code = 403


def may_submit_lists(*, user, service_key=None) -> bool:
    """Finance staff (the payments.add_payment permission) and service keys with the
    payment-list scope (of an organization) may submit lists."""
    if service_key is not None:
        return service_key.has_scope(Scope.PAYMENT_LISTS_SUBMIT)
    return bool(user.is_authenticated and user.is_staff and user.has_perm("payments.add_payment"))


def submitting_organization(*, user, service_key=None, chosen=None) -> Organization:
    """The organization a list is submitted for, by the rule payments share
    (organizations.services.organization_acted_for): `chosen` (an id) if the caller acts
    for it, else the caller's only organization. Refused (403) for whoever may not submit
    lists or acts for none; 400 on `organization` for one they do not act for, or a choice
    left open."""
    if not may_submit_lists(user=user, service_key=service_key):
        raise SubmitRefused("Only finance staff and Wild Rydes services may submit lists.")
    organization = organization_acted_for(
        user=user,
        service_key=service_key,
        chosen=chosen,
        refusal="You cannot submit for that organization.",
    )
    if organization is None:
        raise SubmitRefused("You do not act for any organization, so you cannot submit lists.")
    return organization


def submit_payment_list_as(*, user, service_key=None, organization=None, uploaded_file):
    """A list submitted by a person or a service (the API, the admin's upload page), for
    the organization `submitting_organization` allows (`organization`: an id or None)."""
    chosen = submitting_organization(user=user, service_key=service_key, chosen=organization)
    return submit_payment_list(
        organization=chosen,
        uploaded_file=uploaded_file,
        submitted_by=getattr(user, "email", str(user)),
        submitter_email="" if service_key is not None else getattr(user, "email", ""),
    )


def submit_payment_list(
    *, organization, uploaded_file, submitted_by: str, submitter_email: str = ""
) -> PaymentList:
    """Record the list; once that has committed, put the CSV under inbox/ in the default
    storage and start the import.

    The row commits before the file reaches storage: on AWS the file's S3 event starts
    the import and must find the list (else it would take the file for one dropped into
    the bucket and make a second list of it).
    """
    name = (uploaded_file.name or "payments.csv")[:255]
    # Our own copy: the upload's file may be closed (and deleted) with the request before
    # an outer transaction commits. Up to 8 MB in memory, the rest on disk.
    copy = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115 (closed after storing)
    for chunk in uploaded_file.chunks():
        copy.write(chunk)
    with transaction.atomic():
        payment_list = PaymentList(
            organization=organization,
            original_name=name,
            submitted_by=submitted_by,
            submitter_email=submitter_email,
        )
        payment_list.file = _inbox_path(payment_list, name)
        payment_list.save()
        transaction.on_commit(lambda: _store_and_start(payment_list, copy), robust=True)
    return payment_list


def _store_and_start(payment_list: PaymentList, copy) -> None:
    storage = payment_list.file.storage
    with copy:
        copy.seek(0)
        stored = storage.save(payment_list.file.name, File(copy))
    if stored != payment_list.file.name:  # the storage chose another name
        PaymentList.objects.filter(pk=payment_list.pk).update(file=stored)
        payment_list.file.name = stored
    if settings.PAYMENT_LIST_RUNNER != "stepfunctions":  # on AWS the S3 event starts it
        token = runs.claim_new(payment_list.pk)
        if token:
            runs.start(payment_list.pk, token)


@transaction.atomic
def rerun_payment_list(payment_list: PaymentList, *, here: bool = False) -> PaymentList:
    """Run a failed list's workflow again from the start (after its cause was fixed): the
    only way a failed list runs again. `here`: in this process (a management command)."""
    locked = PaymentList.objects.select_for_update().get(pk=payment_list.pk)
    if locked.status != PaymentList.Status.FAILED:
        raise Conflict(f"Only a failed list can be re-run; this one is {locked.status}.")
    token = runs.new_token()
    PaymentList.objects.filter(pk=locked.pk).update(
        status=PaymentList.Status.RECEIVED,
        run_token=token,
        lease_until=timezone.now() + runs.UNCLAIMED_AFTER,
        step_done="",
        current_step="",
        takeovers=0,
        failed_step="",
        failure_reason="",
        errors_count=0,
        first_errors=[],
        error_report="",
        rows_total=None,
        rows_validated=0,
        rows_imported=0,
        finished_at=None,
        step_holder="",
        step_held_until=None,
    )
    transaction.on_commit(lambda: runs.start(locked.pk, token, here=here))
    locked.refresh_from_db()
    return locked


def error_report_response(payment_list: PaymentList) -> FileResponse:
    """The list's error report as a CSV download (admin and API share it)."""
    return FileResponse(
        payment_list.error_report.open("rb"),
        as_attachment=True,
        filename=f"payment-list-{payment_list.pk}-errors.csv",
        content_type="text/csv; charset=utf-8",
    )
