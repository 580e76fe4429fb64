"""The payment-list workflow on AWS: the S3 inbox trigger and the Step Functions tasks.

Zappa routes an S3 ObjectCreated record under inbox/ to `on_inbox_object_created`, and
each state machine task invokes the function with
`{"command": "payment_lists.aws.run_step", "step": "<name>", "input": {...}}`.
"""

import json
import logging
import time
from urllib.parse import unquote_plus

from django.conf import settings
from django.db import OperationalError

from payment_lists import workflow
from payment_lists.models import PaymentList
from payments.models import Organization

logger = logging.getLogger(__name__)


class DatabaseUnavailable(Exception):
    """Transient: the state machine retries the task."""


class StepFailed(Exception):
    """A step failed; its message is the JSON the CompensateError task reads."""


def run_step(event: dict, context=None) -> dict:
    step = workflow.STEPS_BY_NAME[event["step"]]
    payload = event["input"]
    if step is workflow.COMPENSATE:
        payload = {**payload, "error": _error_from_catch(payload.get("error"))}
    try:
        return workflow.run_step_timed(step, payload)
    except OperationalError as error:
        raise DatabaseUnavailable(str(error)) from error
    except Exception as error:
        if step is workflow.COMPENSATE:
            raise
        raise StepFailed(json.dumps(workflow.failure(step, error))) from error


def _error_from_catch(caught) -> dict:
    """Step Functions' Catch output {Error, Cause} back into {step, reason}."""
    if not caught:
        return {}
    if "reason" in caught:
        return caught
    try:
        cause = json.loads(caught.get("Cause") or "{}")
        return json.loads(cause.get("errorMessage") or "{}")
    except (TypeError, ValueError):
        return {"step": "", "reason": f"{caught.get('Error')}: the import failed."}


def on_inbox_object_created(event: dict, context=None) -> dict:
    """Start the workflow for each CSV that lands under inbox/."""
    started = []
    for record in event.get("Records", []):
        key = unquote_plus(record["s3"]["object"]["key"])
        if not key.startswith("inbox/"):
            continue
        payment_list = PaymentList.objects.filter(file=key).first() or _list_for_dropped_file(key)
        if payment_list is None:
            logger.warning("Ignoring %s: no organization in its path", key)
            continue
        start_execution(payment_list.pk)
        started.append(payment_list.pk)
    return {"started": started}


def _list_for_dropped_file(key: str) -> PaymentList | None:
    """A file dropped straight into the bucket (SFTP): inbox/<organization id>/<name>.csv."""
    parts = key.split("/")
    if len(parts) < 3 or not parts[1].isdigit():
        return None
    organization = Organization.objects.filter(pk=int(parts[1])).first()
    if organization is None:
        return None
    return PaymentList.objects.create(
        organization=organization, file=key, original_name=parts[-1][:255], submitted_by="inbox"
    )


def start_execution(payment_list_id: int) -> None:
    if not settings.PAYMENT_LIST_STATE_MACHINE_ARN:
        workflow.run_workflow(payment_list_id)  # no state machine on this stage: run here
        return
    import boto3

    boto3.client("stepfunctions", region_name=settings.AWS_REGION).start_execution(
        stateMachineArn=settings.PAYMENT_LIST_STATE_MACHINE_ARN,
        name=f"payment-list-{payment_list_id}-{int(time.time())}",
        input=json.dumps({"payment_list_id": payment_list_id}),
    )
