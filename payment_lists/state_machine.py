"""The Step Functions definition (ASL), generated from payment_lists.workflow.STEPS."""

from payment_lists import workflow

TRANSIENT = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "DatabaseUnavailable",
]


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
