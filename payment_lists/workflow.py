"""The payment-list workflow, defined once.

STEPS is the ordered step list. `run_workflow` runs it in-process (locally, in a
background thread or inline); payment_lists.state_machine turns the same list into the
Step Functions state machine used on AWS, whose tasks call `payment_lists.aws.run_step`.
Who starts a run, and when, is payment_lists.runs.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection

from core.observability import timed, timing_marks
from payment_lists import fastpath, steps

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    name: str
    function: Callable[[dict], dict]
    repeat_until_done: bool = False  # ImportList: one chunk per call


STEPS = (
    Step("RegisterList", steps.register_list),
    Step("ValidateList", steps.validate_list),
    Step("VerifySubscription", steps.verify_subscription),
    Step("ImportList", steps.import_list, repeat_until_done=True),
)
COMPENSATE = Step("CompensateError", steps.compensate_error)
STEPS_BY_NAME = {step.name: step for step in (*STEPS, COMPENSATE)}

# Errors worth a retry (Step Functions Retry).
TRANSIENT_ERRORS = ("DatabaseUnavailable",)
# The local runner tries a step again, on a new connection, when its connection was lost
# (killed, closed under it): as many times as the definition's Retry does, without waits.
LOST_CONNECTION_ATTEMPTS = 1 + 3


# The steps as the operator's page and the failure messages say them.
IN_WORDS = steps.IN_WORDS
in_words = steps.in_words


def failure(step: Step, error: Exception) -> dict:
    if isinstance(error, steps.ListRejected):
        reason = str(error)
    else:
        reason = steps.unexpected_failure(step.name)
    return {"step": step.name, "reason": reason}


def run_step_timed(step: Step, payload: dict) -> dict:
    """One step, with its duration in the log (a timing mark per step)."""
    label = f"payment list {step.name}"
    with timing_marks(label, payment_list_id=payload["payment_list_id"]), timed(step.name):
        return step.function(payload)


def run_workflow(payment_list_id: int, run: str, *, on_step=None) -> dict:
    """Run every step of run `run` in order; on any failure run CompensateError. Returns
    the last output. A run that does not own the list (steps.Stale) stops and undoes
    nothing: {"skipped": why}."""
    payload = {"payment_list_id": payment_list_id, "run": run}
    for step in STEPS:
        try:
            payload = _run_again_if_cut_off(step, payload)
            if on_step:
                on_step(step, payload)
            while step.repeat_until_done and not payload.get("done"):
                payload = _run_again_if_cut_off(step, payload)
                if on_step:
                    on_step(step, payload)
        except steps.Stale as stale:
            logger.info("Payment list %s: %s stopped: %s", payment_list_id, step.name, stale)
            return {**payload, "skipped": str(stale)}
        except Exception as error:
            if not isinstance(error, steps.ListRejected):
                logger.exception("Payment list %s failed in %s", payment_list_id, step.name)
            return compensate({**payload, "error": failure(step, error)})
    return payload


def _run_again_if_cut_off(step: Step, payload: dict) -> dict:
    """The step, run again on a new connection if its connection was lost (the step gave
    its hold back: steps._release), as Step Functions' Retry does on AWS."""
    for attempt in range(1, LOST_CONNECTION_ATTEMPTS + 1):
        try:
            return run_step_timed(step, payload)
        except Exception as error:
            if attempt == LOST_CONNECTION_ATTEMPTS or not fastpath.connection_lost(error):
                raise
            logger.warning(
                "Payment list %s: %s lost its database connection; trying again",
                payload["payment_list_id"],
                step.name,
            )
            if not connection.in_atomic_block:
                connection.close()
    raise AssertionError("unreachable")


def compensate(payload: dict) -> dict:
    try:
        return run_step_timed(COMPENSATE, payload)
    except steps.Stale as stale:
        return {**payload, "skipped": str(stale)}


def start_workflow(payment_list_id: int, run: str) -> None:
    """Run `run` of the list the way this deployment runs workflows in-process."""
    runner = settings.PAYMENT_LIST_RUNNER
    if runner == "thread":
        threading.Thread(
            target=_run_in_thread, args=(payment_list_id, run),
            name=f"payment-list-{payment_list_id}", daemon=True,
        ).start()  # fmt: skip
    else:
        run_workflow(payment_list_id, run)


def _run_in_thread(payment_list_id: int, run: str) -> None:
    try:
        close_old_connections()
        run_workflow(payment_list_id, run)
    except DatabaseError:
        logger.exception("Payment list %s: the workflow could not run", payment_list_id)
    finally:
        connection.close()
