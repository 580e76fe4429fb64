"""Reading payment lists: who may see which, and where an import stands, in plain words
(the admin and the API say the same)."""

from dataclasses import asdict, dataclass

from django.db.models import QuerySet

from core.exceptions import NotFound
from core.money import Money
from organizations import selectors as organizations
from payment_lists.models import PaymentList
from payment_lists.workflow import in_words


def lists_visible_to(*, user, service_key=None) -> QuerySet[PaymentList]:
    mine = organizations.organizations_acted_for(user=user, service_key=service_key)
    return PaymentList.objects.filter(organization__in=mine).select_related("organization")


def list_for(*, user, service_key=None, list_id) -> PaymentList:
    visible = lists_visible_to(user=user, service_key=service_key)
    payment_list = visible.filter(pk=list_id).first()
    if payment_list is None:
        raise NotFound("No such payment list.")
    return payment_list


@dataclass(frozen=True)
class Progress:
    """Where a list stands. `done` and `total` are rows; None where not known (no bar
    length is made up: an unknown total is shown as unknown)."""

    state: str  # the status in words
    step: str  # what it is doing now, in words ("" when finished)
    done: int | None
    total: int | None
    description: str  # one plain sentence
    finished: bool

    @property
    def label(self) -> str:
        if self.done is None:
            return f"{self.total:,} rows" if self.total is not None else "rows not counted yet"
        if self.total is None:
            return f"{self.done:,} rows so far (total not known yet)"
        return f"{self.done:,} of {self.total:,} rows"

    def as_dict(self) -> dict:
        return {**asdict(self), "label": self.label}


def totals_in_words(payment_list: PaymentList) -> str:
    totals = payment_list.totals or {}
    return ", ".join(str(Money(minor, currency)) for currency, minor in sorted(totals.items()))


def progress_of(payment_list: PaymentList) -> Progress:
    status, total = payment_list.status, payment_list.rows_total
    state, Status = payment_list.get_status_display(), PaymentList.Status
    step = in_words(payment_list.current_step) if payment_list.current_step else ""
    if status == Status.IMPORTED:
        done = payment_list.rows_imported
        sentence = f"Imported: all {done:,} payments are registered."
        return Progress(state, "", done, total, sentence, True)
    if status == Status.FAILED:
        during = in_words(payment_list.failed_step) if payment_list.failed_step else "the import"
        sentence = f"Failed while {during}: {payment_list.failure_reason}"
        # Most reasons already say it ('...; nothing was imported. See the error report.').
        if "nothing was imported" not in payment_list.failure_reason.lower():
            sentence += " Nothing was imported."
        return Progress(state, "", None, total, sentence, True)
    if status == Status.RECEIVED:
        return Progress(state, "", None, None, "Waiting for the import to start.", False)
    if payment_list.current_step == "ValidateList":
        done = payment_list.rows_validated
        if total is None:
            sentence = (
                f"Checking the rows: {done:,} read so far; the total is known once the whole "
                "file has been read."
            )
        else:
            sentence = f"Checking the rows: all {total:,} read; checking references and rides."
        return Progress(state, step, done, total, sentence, False)
    if status == Status.IMPORTING:
        sentence = (
            f"Importing {total or 0:,} payments. They appear all together when the import "
            "finishes; until then none of them is visible."
        )
        return Progress(state, step, None, total, sentence, False)
    sentence = f"{(step or state).capitalize()}."
    if total is not None:
        sentence = f"{(step or state).capitalize()} for {total:,} rows."
    return Progress(state, step, None, total, sentence, False)
