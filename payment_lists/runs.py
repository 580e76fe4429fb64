"""Who runs a payment list's workflow, and how a run that died gets finished.

A list is owned by one run at a time, named by a random token (PaymentList.run_token) that
every step's payload carries (payment_lists.steps checks it). A run starts only by claiming
the list in one UPDATE, so of any number of triggers exactly one starts it:

- A new list is claimed only while it is "received" and unclaimed: by the upload's S3 event
  on AWS, by the upload's commit locally, or by the recovery pass if neither came. A
  repeated S3 event (twice, ten times) finds it claimed and does nothing.
- A failed list runs again only by an operator's re-run (services.rerun_payment_list).
- A run that stopped showing progress (its lease ran out: a killed process, a Lambda
  timeout, an aborted execution, a start that never happened) is taken over by the
  scheduled recovery pass with a new token, which makes anything the old run still does
  Stale. The pass resumes it from its last finished step (a repeated step changes nothing,
  so the same file ends up imported once), or compensates it when it was already failing or
  has been taken over MAX_TAKEOVERS times. Either way with no operator.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from payment_lists import steps, workflow
from payment_lists.models import UNFINISHED, PaymentList, PaymentListRow

logger = logging.getLogger(__name__)

MAX_TAKEOVERS = 3
# A list nobody claimed this long after its upload (its S3 event lost): the pass starts it.
UNCLAIMED_AFTER = timedelta(minutes=2)


def new_token() -> str:
    return uuid.uuid4().hex


def claim_new(payment_list_id: int, *, sequencer: str = "") -> str | None:
    """Claim a received, unclaimed list for a new run: its token, or None if another
    trigger got there first (or the list is past that)."""
    token = new_token()
    fields = {"run_token": token, "lease_until": steps.lease_until()}
    if sequencer:
        fields["inbox_sequencer"] = sequencer
    unclaimed = PaymentList.objects.filter(
        pk=payment_list_id, status=PaymentList.Status.RECEIVED, run_token=""
    )
    return token if unclaimed.update(**fields) else None


def release(payment_list_id: int, token: str) -> None:
    """Give back a claim whose run could not be started (nothing of it ran yet)."""
    PaymentList.objects.filter(
        pk=payment_list_id, run_token=token, status=PaymentList.Status.RECEIVED, step_done=""
    ).update(run_token="", lease_until=None)


def start(payment_list_id: int, token: str, *, here: bool = False) -> None:
    """Start run `token`: a Step Functions execution on AWS, else in-process (`here`: in
    this process and thread, for a command whose background thread would die with it)."""
    if here:
        workflow.run_workflow(payment_list_id, token)
    elif settings.PAYMENT_LIST_RUNNER == "stepfunctions":
        from payment_lists import aws

        aws.start_execution(payment_list_id, token)
    else:
        workflow.start_workflow(payment_list_id, token)


def dead_runs(now=None):
    """Unfinished lists whose run's lease has run out (or that a run started before leases
    existed left under way)."""
    now = now or timezone.now()
    no_lease = Q(lease_until__isnull=True) & ~Q(status=PaymentList.Status.RECEIVED, run_token="")
    return PaymentList.objects.filter(status__in=UNFINISHED).filter(
        Q(lease_until__lt=now) | no_lease
    )


def unclaimed_lists(now=None):
    """Received lists no trigger has started (their S3 event never came)."""
    now = now or timezone.now()
    return PaymentList.objects.filter(
        status=PaymentList.Status.RECEIVED, run_token="", created_at__lt=now - UNCLAIMED_AFTER
    )


@dataclass
class Recovered:
    payment_list: PaymentList
    action: str  # "resumed", "compensated", "started"


def take_over(payment_list: PaymentList, *, here: bool = False, now=None) -> Recovered | None:
    """Take a dead run's list over and resume or compensate it; None if it is not dead
    (any more) or another pass took it first."""
    now = now or timezone.now()
    token = new_token()
    taken = (
        dead_runs(now)
        .filter(pk=payment_list.pk, run_token=payment_list.run_token)
        .update(
            run_token=token,
            lease_until=steps.lease_until(),
            takeovers=F("takeovers") + 1,
            step_holder="",  # the dead run's copies write nothing more (another run's now)
            step_held_until=None,
        )
    )
    if not taken:
        return None
    payment_list.refresh_from_db()
    step = payment_list.failed_step or payment_list.current_step
    if payment_list.failure_reason or payment_list.takeovers > MAX_TAKEOVERS:
        reason = payment_list.failure_reason or (
            f"The import stopped {payment_list.takeovers} times while "
            f"{workflow.in_words(step or 'RegisterList')}; nothing was imported. Re-run the "
            "list; if it stops again, tell support."
        )
        error = {"step": step, "reason": reason}
        workflow.compensate({"payment_list_id": payment_list.pk, "run": token, "error": error})
        action = "compensated"
    else:
        logger.warning(
            "Payment list %s: its run stopped during %s; resuming it", payment_list.pk, step
        )
        start(payment_list.pk, token, here=here)
        action = "resumed"
    payment_list.refresh_from_db()
    return Recovered(payment_list, action)


def recover(*, here: bool = False, now=None) -> list[Recovered]:
    """The scheduled pass: take over dead runs, start lists nobody started, and clear the
    staged rows a finished list left (an import killed after its commit)."""
    done = []
    for payment_list in dead_runs(now).order_by("pk"):
        recovered = take_over(payment_list, here=here, now=now)
        if recovered:
            done.append(recovered)
    for payment_list in unclaimed_lists(now).order_by("pk"):
        token = claim_new(payment_list.pk)
        if token:
            start(payment_list.pk, token, here=here)
            payment_list.refresh_from_db()
            done.append(Recovered(payment_list, "started"))
    staged = PaymentListRow.objects.filter(payment_list=OuterRef("pk"))
    leftovers = PaymentList.objects.exclude(status__in=UNFINISHED).filter(Exists(staged))
    for payment_list in leftovers.only("pk"):
        steps._clear_staged(payment_list)
    return done
