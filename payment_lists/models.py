"""Payment lists: CSV files of payments an organization submits, and their staged rows.

The tables keep the names they had when these models lived in the payments app
(payments_paymentlist, payments_paymentlistrow): moving the models changed no data.
"""

import uuid

from django.db import models

from organizations.models import Organization


def _inbox_path(payment_list, filename):
    return f"inbox/{payment_list.organization_id}/{uuid.uuid4().hex}.csv"


class PaymentList(models.Model):
    """A CSV of payments an organization submits, and where its import workflow stands."""

    class Status(models.TextChoices):
        RECEIVED = "received", "waiting to start"
        VALIDATING = "validating", "checking the file"
        VERIFYING = "verifying", "checking the subscription"
        IMPORTING = "importing", "importing"
        IMPORTED = "imported", "imported"
        FAILED = "failed", "failed"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="lists")
    file = models.FileField(upload_to=_inbox_path, max_length=255)
    original_name = models.CharField(max_length=255, blank=True)
    checksum = models.CharField(max_length=64, blank=True, db_index=True)
    submitted_by = models.CharField(max_length=120)
    submitter_email = models.EmailField(blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.RECEIVED, db_index=True
    )
    current_step = models.CharField(max_length=40, blank=True)
    rows_total = models.PositiveIntegerField(
        null=True, blank=True, help_text="Known once the whole file has been read."
    )
    rows_validated = models.PositiveIntegerField(default=0)
    rows_imported = models.PositiveIntegerField(default=0)
    totals = models.JSONField(
        default=dict, blank=True, help_text="{currency: amount in minor units}: never summed."
    )
    errors_count = models.PositiveIntegerField(default=0)
    first_errors = models.JSONField(default=list, blank=True, help_text="Up to 100 errors.")
    error_report = models.FileField(upload_to="reports/", max_length=255, blank=True)
    failed_step = models.CharField(max_length=40, blank=True)
    failure_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Which run of the workflow owns the list (see payment_lists.runs): a step of any other
    # run changes nothing. Empty until a trigger starts it.
    run_token = models.CharField(max_length=40, blank=True)
    # The owning run's promise to show progress by then; past it, the run counts as dead and
    # the scheduled recovery pass takes over.
    lease_until = models.DateTimeField(null=True, blank=True, db_index=True)
    step_done = models.CharField(max_length=40, blank=True, help_text="Last step finished.")
    # Which copy of the current step's task holds it (Step Functions may deliver a task more
    # than once, a copy while another still runs: payment_lists.steps), and until when:
    # renewed as it works; past it, the holder counts as dead and another copy takes over.
    step_holder = models.CharField(max_length=40, blank=True)
    step_held_until = models.DateTimeField(null=True, blank=True)
    takeovers = models.PositiveSmallIntegerField(
        default=0, help_text="Times the recovery pass took over a run that had died."
    )
    # The S3 event that brought the file (its sequencer): a repeat of it changes nothing.
    inbox_sequencer = models.CharField(max_length=64, blank=True)

    class Meta:
        db_table = "payments_paymentlist"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["file", "inbox_sequencer"],
                condition=~models.Q(file=""),
                name="one_list_per_inbox_object",
            )
        ]

    def __str__(self):
        return f"{self.original_name or 'list'} #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status not in UNFINISHED


# A list in these is still on its way through the workflow (imported and failed are final).
UNFINISHED = (
    PaymentList.Status.RECEIVED,
    PaymentList.Status.VALIDATING,
    PaymentList.Status.VERIFYING,
    PaymentList.Status.IMPORTING,
)


class PaymentListRow(models.Model):
    """Staging: a list's rows once their format is checked, waiting for ImportList.

    Keeping them in the database lets the workflow check uniqueness and rides with SQL
    and import with INSERT ... SELECT, so memory does not grow with the file.
    """

    payment_list = models.ForeignKey(PaymentList, on_delete=models.CASCADE, related_name="rows")
    row_number = models.PositiveIntegerField()
    reference = models.CharField(max_length=64)
    payer_email = models.CharField(max_length=254, blank=True)
    amount_minor = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    ride_id = models.UUIDField(null=True, blank=True)

    class Meta:
        db_table = "payments_paymentlistrow"
        constraints = [
            models.UniqueConstraint(fields=["payment_list", "row_number"], name="one_row_number")
        ]
        indexes = [models.Index(fields=["payment_list", "reference"], name="staging_reference_idx")]

    def __str__(self):
        return f"row {self.row_number} of list {self.payment_list_id}"
