"""The Step Functions definition (ASL), generated from payment_lists.workflow.STEPS."""

from payment_lists import workflow

TRANSIENT = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "DatabaseUnavailable",
]
# Another copy of the task holds the step and is alive (aws.StepBusy: each attempt first
# waits up to steps.STEP_WAIT_SECONDS for its outcome). Retried for longer than a step can
# live (Lambda's timeout) plus the hold a dead copy leaves (steps.STEP_LEASE_SECONDS), so
# the copy Step Functions waits for always gets the step's outcome, never CompensateError
# for a list whose first copy succeeds.
STEP_BUSY = {
    "ErrorEquals": ["StepBusy"],
    "IntervalSeconds": 5,
    "MaxAttempts": 10,
    "BackoffRate": 1.0,
}


def _task(step: workflow.Step, function_arn: str, next_state: str) -> dict:
    state = {
        "Type": "Task",
        "Resource": function_arn,
        "Parameters": {"command": "payment_lists.aws.run_step", "step": step.name, "input.$": "$"},
        "TimeoutSeconds": 900,
        "Retry": [
            {"ErrorEquals": TRANSIENT, "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2.0}
        ],
        "Next": next_state,
    }
    if step is not workflow.COMPENSATE:
        state["Retry"].append(STEP_BUSY)
        state["Catch"] = [
            {
                "ErrorEquals": ["States.ALL"],
                "ResultPath": "$.error",
                "Next": workflow.COMPENSATE.name,
            }
        ]
    return state


def definition(function_arn: str) -> dict:
    """Task per step in STEPS order; ImportList loops through a Choice until done;
    any failure is caught into CompensateError, which ends in Fail."""
    states = {}
    for index, step in enumerate(workflow.STEPS):
        following = (
            workflow.STEPS[index + 1].name if index + 1 < len(workflow.STEPS) else "Imported"
        )
        if step.repeat_until_done:
            choice = f"{step.name}Done"
            states[step.name] = _task(step, function_arn, choice)
            states[choice] = {
                "Type": "Choice",
                "Choices": [{"Variable": "$.done", "BooleanEquals": True, "Next": following}],
                "Default": step.name,
            }
        else:
            states[step.name] = _task(step, function_arn, following)
    states["Imported"] = {"Type": "Succeed"}
    states[workflow.COMPENSATE.name] = _task(workflow.COMPENSATE, function_arn, "ListFailed")
    states["ListFailed"] = {"Type": "Fail", "Error": "PaymentListFailed", "Cause": "See the list."}
    return {
        "Comment": "Wild Rydes payment-list import, generated from payment_lists.workflow.STEPS",
        "StartAt": workflow.STEPS[0].name,
        "States": states,
    }
