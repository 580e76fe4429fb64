"""The payment-list workflow on AWS: the S3 inbox trigger, the Step Functions tasks and the
scheduled recovery pass.

Zappa routes an S3 ObjectCreated record under inbox/ to `on_inbox_object_created`, each
state machine task invokes the function with
`{"command": "payment_lists.aws.run_step", "step": "<name>", "input": {...}}`, and a
schedule calls `recover_on_schedule`. Every one of them may come more than once: see
payment_lists.runs for why that is harmless.
"""

import json
import logging
import re
from urllib.parse import unquote_plus

from django.conf import settings
from django.db import IntegrityError, transaction

from organizations.models import Organization
from payment_lists import fastpath, runs, steps, workflow
from payment_lists.models import PaymentList

logger = logging.getLogger(__name__)


class DatabaseUnavailable(Exception):
    """Transient: the state machine retries the task. Its message is the same JSON as
    StepFailed's, so when the retries run out CompensateError still knows the step."""


class StepFailed(Exception):
    """A step failed; its message is the JSON the CompensateError task reads."""


class StepBusy(Exception):
    """Another copy of the task holds the step, alive, for longer than this invocation may
    wait: the state machine retries (its own Retry, longer than any step may run); the
    message is the same JSON as StepFailed's."""


# What a task keeps of its invocation's time when it waits for another copy of itself: to
# answer StepBusy before Lambda's timeout cuts it off.
WAIT_MARGIN_SECONDS = 15


def run_step(event: dict, context=None) -> dict:
    step = workflow.STEPS_BY_NAME[event["step"]]
    payload = event["input"]
    if payload.get("skipped"):  # an earlier task found this execution is not the list's run
        return payload
    if step is workflow.COMPENSATE:
        payload = {**payload, "error": _error_from_catch(payload.get("error"))}
    try:
        with steps.waiting_at_most(_wait_budget(context)):
            return workflow.run_step_timed(step, payload)
    except steps.Stale as stale:
        logger.info("Payment list %s: %s skipped: %s", payload["payment_list_id"], step.name, stale)
        return {**payload, "skipped": str(stale), "done": True}
    except steps.StepBusy as busy:  # retried: the retry waits again, or finds the outcome
        raise StepBusy(json.dumps({"step": step.name, "reason": str(busy)})) from busy
    except Exception as error:
        if fastpath.connection_lost(error):
            reason = (
                f"The database could not be reached while {workflow.in_words(step.name)}; "
                "nothing was imported. Re-run the list."
            )
            raise DatabaseUnavailable(json.dumps({"step": step.name, "reason": reason})) from error
        if step is workflow.COMPENSATE:
            raise
        raise StepFailed(json.dumps(workflow.failure(step, error))) from error


def _wait_budget(context) -> float:
    """How long this task may wait for another copy of itself: the step's limit, within
    what Lambda's timeout leaves of this invocation."""
    budget = steps.STEP_WAIT_SECONDS
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is not None:
        budget = min(budget, remaining() / 1000 - WAIT_MARGIN_SECONDS)
    return max(0.0, budget)


def _error_from_catch(caught) -> dict:
    """Step Functions' Catch output {Error, Cause} back into {step, reason}. A failure that
    is not one of ours (a Lambda timeout, say) has no step: CompensateError then takes the
    list's current step.

    Step Functions puts the Lambda error payload's JSON in Cause; other interpreters
    (aws-local-stepfunctions) put "<Error>: <errorMessage>" there, so both are read."""
    if not caught:
        return {}
    if "reason" in caught:
        return caught
    try:
        cause_text, error = caught.get("Cause") or "{}", caught.get("Error") or ""
        if error and cause_text.startswith(f"{error}: "):
            cause_text = json.dumps({"errorMessage": cause_text[len(error) + 2 :]})
        cause = json.loads(cause_text)
        found = json.loads(cause.get("errorMessage") or "{}")
        if isinstance(found, dict) and "reason" in found:
            return found
    except (TypeError, ValueError):
        pass
    logger.warning("Payment-list task failed with %s: %s", caught.get("Error"), caught.get("Cause"))
    reason = (
        "The import stopped before it could finish (it took too long, or the function running "
        "it failed); nothing was imported. Re-run the list."
    )
    return {"step": "", "reason": reason}


def on_inbox_object_created(event: dict, context=None) -> dict:
    """Start the import of each CSV that lands under inbox/, once: a repeated event, or one
    for a list that is running, imported or failed, starts nothing."""
    started, ignored = [], []
    for record in event.get("Records", []):
        s3_object = record["s3"]["object"]
        key = unquote_plus(s3_object["key"])
        if not key.startswith("inbox/"):
            continue
        sequencer = s3_object.get("sequencer", "")
        payment_list = _list_for_object(key, sequencer)
        if payment_list is None:
            logger.warning("Ignoring %s: no organization in its path, or no such object", key)
            continue
        token = runs.claim_new(payment_list.pk, sequencer=sequencer)
        if token is None:
            logger.info("List #%s (%s) already started: event ignored", payment_list.pk, key)
            ignored.append(payment_list.pk)
            continue
        try:
            start_execution(payment_list.pk, token)
        except Exception:
            # Let the retried invocation (Lambda retries a failed async one) claim it again.
            runs.release(payment_list.pk, token)
            raise
        started.append(payment_list.pk)
    return {"started": started, "ignored": ignored}


def _list_for_object(key: str, sequencer: str) -> PaymentList | None:
    """The list this object belongs to: the one its event already started, the upload that
    wrote it, or, for a file dropped straight into the bucket (SFTP), a new list.

    A dropped file may be replaced under the same key (a corrected file): S3 numbers the
    events of a key in order (the sequencer), but may deliver them in any order. An event
    older than the newest list of its key is of a version that list already read, or that
    was replaced before anyone read it (the key holds the newer one): it starts nothing. A
    newer one is a new version: a list of its own, even while the older version's list runs
    (that run read, or reads, whatever the key held; references cannot be imported twice).
    """
    lists = PaymentList.objects.filter(file=key).order_by("-pk")
    if sequencer:
        seen = lists.filter(inbox_sequencer=sequencer).first()
        if seen is not None:
            return seen  # a repeat of an event already handled
    upload = lists.filter(inbox_sequencer="").first()
    if upload is not None:
        return upload
    latest = lists.first()
    if latest is not None:
        if not sequencer:  # not S3's (no order known): as a repeat while its list runs
            if not latest.is_finished:
                return latest
        elif not _later(sequencer, latest.inbox_sequencer):
            return latest  # an older version's late event: claimed already, so ignored
    return _list_for_dropped_file(key, sequencer)


def _later(sequencer: str, other: str) -> bool:
    """Whether S3 event sequencer `sequencer` comes after `other` (of the same key): hex
    strings of any length, compared once the shorter is right-padded with zeros (S3's
    event message structure). No `other` (a list made from an event without one): later."""
    width = max(len(sequencer), len(other))
    return sequencer.upper().ljust(width, "0") > other.upper().ljust(width, "0")


ORGANIZATION_ID = re.compile(r"[0-9]{1,18}")  # ASCII digits a bigint holds ('²' is a digit)


def _list_for_dropped_file(key: str, sequencer: str) -> PaymentList | None:
    """A file dropped straight into the bucket: inbox/<organization id>/<name>.csv. None
    for a path with no organization, or an object no longer there (deleted since its event
    was sent: a list of it could only fail, 'the file never arrived')."""
    parts = key.split("/")
    if len(parts) < 3 or not ORGANIZATION_ID.fullmatch(parts[1]):
        return None
    organization = Organization.objects.filter(pk=int(parts[1])).first()
    if organization is None:
        return None
    if not PaymentList.file.field.storage.exists(key):
        logger.info("Ignoring %s: no longer in the inbox", key)
        return None
    try:
        with transaction.atomic():
            return PaymentList.objects.create(
                organization=organization, file=key, original_name=parts[-1][:255],
                submitted_by="inbox", inbox_sequencer=sequencer,
            )  # fmt: skip
    except IntegrityError:  # the same event, handled at the same moment elsewhere
        return PaymentList.objects.filter(file=key, inbox_sequencer=sequencer).first()


def start_execution(payment_list_id: int, token: str) -> None:
    if not settings.PAYMENT_LIST_STATE_MACHINE_ARN:
        workflow.run_workflow(payment_list_id, token)  # no state machine on this stage: run here
        return
    import boto3

    boto3.client("stepfunctions", region_name=settings.AWS_REGION).start_execution(
        stateMachineArn=settings.PAYMENT_LIST_STATE_MACHINE_ARN,
        name=f"payment-list-{payment_list_id}-{token[:16]}",
        input=json.dumps({"payment_list_id": payment_list_id, "run": token}),
    )


def recover_on_schedule(event=None, context=None) -> dict:
    """The scheduled recovery pass (payment_lists.runs.recover): dead runs resumed (a new
    execution) or compensated, lists nobody started started."""
    done = runs.recover()
    return {"recovered": [[item.payment_list.pk, item.action] for item in done]}
