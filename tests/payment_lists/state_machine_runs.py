"""A Task state of the payment-list definition run as Step Functions runs it, in-process.

The function is invoked through its real entry point (payment_lists.aws.run_step), with the
database connections looked after around each invocation as the Lambda handler does
(wildrydes.aws_lambda); an error is retried as the state's Retry says (without its waits:
intervals are time, and nothing here depends on time), and an error left after the retries
is caught into CompensateError as the state's Catch says. tests/stepfunctions runs the same
definition in a real ASL interpreter.
"""

import json

from payment_lists import aws
from payment_lists.state_machine import definition
from wildrydes.aws_lambda import _retire_connections

ARN = "arn:aws:lambda:us-east-1:123456789012:function:wildrydes-dev"
TASKS = ("RegisterList", "ValidateList", "VerifySubscription", "ImportList")


def task(name: str, state: dict) -> dict:
    params = definition(ARN)["States"][name]["Parameters"]
    return {"command": params["command"], "step": params["step"], "input": state}


def invoke(name: str, state: dict, context=None):
    """One invocation of the function for the task: its answer, or the error it raised (as
    Step Functions receives it)."""
    _retire_connections()
    try:
        return aws.run_step(task(name, state), context)
    except Exception as error:  # the function's error, as Step Functions sees it
        return error
    finally:
        _retire_connections()


def caught(error: Exception) -> dict:
    """A Catch's output for `error` (Step Functions puts the Lambda error's JSON in Cause)."""
    cause = {"errorMessage": str(error), "errorType": type(error).__name__}
    return {"Error": type(error).__name__, "Cause": json.dumps(cause)}


def run_state(name: str, state: dict, *, first=None, log=None) -> dict:
    """The Task state `name` on input `state`: invoked, retried, caught. `first`: the answer
    of its first invocation if it was made already (a copy run elsewhere). Returns the
    state's output (CompensateError's if it was caught). `log` collects (task, answer)."""
    states = definition(ARN)["States"]
    retriers = states[name].get("Retry", [])
    tries = [0] * len(retriers)
    answer = first if first is not None else invoke(name, state)
    while True:
        if log is not None:
            log.append((name, answer))
        if not isinstance(answer, Exception):
            return answer
        kind = type(answer).__name__
        found = [i for i, r in enumerate(retriers) if kind in r["ErrorEquals"]]
        if found and tries[found[0]] < retriers[found[0]]["MaxAttempts"]:
            tries[found[0]] += 1
            answer = invoke(name, state)
            continue
        if not states[name].get("Catch"):
            raise answer
        return run_state("CompensateError", {**state, "error": caught(answer)}, log=log)


def run_states(state: dict, names=TASKS, *, log=None) -> dict:
    """The Task states `names` in order, as the execution goes: stops at CompensateError."""
    for name in names:
        state = run_state(name, state, log=log)
        if state.get("status") == "failed" or state.get("skipped"):
            return state
    return state
