"""The Step Functions definition comes from the same step list as the local runner."""

import json
from datetime import timedelta
from pathlib import Path
from unittest import mock

import boto3
import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import OperationalError
from django.utils import timezone
from moto import mock_aws

from payment_lists import aws, runs, steps, workflow
from payment_lists.models import PaymentList, PaymentListRow
from payment_lists.state_machine import definition
from payments.models import Payment
from tests.database_faults import at_statements, table
from tests.factories import SubscriptionFactory
from tests.payment_lists.lists import good_rows, s3_event, stored_list

ARN = "arn:aws:lambda:us-east-1:123456789012:function:wildrydes-dev"


def test_definition_has_a_task_per_step_in_order_then_compensation():
    states = definition(ARN)["States"]
    assert definition(ARN)["StartAt"] == workflow.STEPS[0].name
    chain, name = [], workflow.STEPS[0].name
    while states[name]["Type"] in ("Task", "Choice"):
        if states[name]["Type"] == "Task":
            chain.append(name)
            name = states[name]["Next"]
        else:
            name = states[name]["Choices"][0]["Next"]
    assert chain == [step.name for step in workflow.STEPS]
    assert states[name]["Type"] == "Succeed"
    for step in workflow.STEPS:
        task = states[step.name]
        assert task["Parameters"] == {
            "command": "payment_lists.aws.run_step",
            "step": step.name,
            "input.$": "$",
        }
        assert task["Catch"][0]["Next"] == "CompensateError"
        assert "DatabaseUnavailable" in task["Retry"][0]["ErrorEquals"]
    assert states["CompensateError"]["Next"] == "ListFailed"
    assert states["ListFailed"]["Type"] == "Fail"


def test_a_task_held_by_another_copy_is_retried_for_longer_than_a_step_can_live():
    """StepBusy (another copy of the task holds the step, alive): retried, each attempt
    waiting for the holder up to what its invocation allows, for longer than the holder
    can live (the function's timeout) plus the hold a killed holder leaves behind; so the
    copy Step Functions waits for is never compensated while the holder would succeed."""
    config = json.loads((Path(django_settings.BASE_DIR) / "zappa_settings.json").read_text())
    timeouts = {stage.get("timeout_seconds") for stage in config.values()} - {None}
    function_timeout = max(timeouts)
    wait = aws._wait_budget(LambdaContext(function_timeout))
    assert 0 < wait < function_timeout
    states = definition(ARN)["States"]
    for step in workflow.STEPS:
        [busy] = [r for r in states[step.name]["Retry"] if "StepBusy" in r["ErrorEquals"]]
        waits = [
            busy["IntervalSeconds"] * busy.get("BackoffRate", 2.0) ** n
            for n in range(busy["MaxAttempts"])
        ]
        covered = sum(waits) + (1 + busy["MaxAttempts"]) * wait
        assert covered > function_timeout + steps.STEP_LEASE_SECONDS
    assert "StepBusy" not in json.dumps(states["CompensateError"])


class LambdaContext:
    def __init__(self, seconds: float):
        self.seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


def test_import_list_loops_until_done():
    """Kept for a step that needs several calls; ImportList answers done at once."""
    states = definition(ARN)["States"]
    assert states["ImportList"]["Next"] == "ImportListDone"
    assert states["ImportListDone"]["Default"] == "ImportList"


def test_command_prints_the_definition(capsys):
    call_command("payment_list_state_machine", "--function-arn", ARN)
    assert json.loads(capsys.readouterr().out) == definition(ARN)


@mock_aws
def test_step_functions_accepts_the_definition(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    client = boto3.client("stepfunctions", region_name="us-east-1")
    created = client.create_state_machine(
        name="wildrydes-dev-payment-lists",
        definition=json.dumps(definition(ARN)),
        roleArn="arn:aws:iam::123456789012:role/wildrydes-dev-states",
    )
    described = client.describe_state_machine(stateMachineArn=created["stateMachineArn"])
    assert json.loads(described["definition"]) == definition(ARN)


@pytest.fixture
def payment_list(db, settings):
    return stored_list(SubscriptionFactory().organization, good_rows(5))


def task_event(name: str, state_input: dict) -> dict:
    """Exactly what the state machine sends: the task's Parameters with input.$ resolved."""
    params = definition(ARN)["States"][name]["Parameters"]
    return {"command": params["command"], "step": params["step"], "input": state_input}


def execution_input(payment_list) -> dict:
    """What start_execution gives a new execution, once the trigger has claimed the list."""
    return {"payment_list_id": payment_list.pk, "run": runs.claim_new(payment_list.pk)}


def test_each_step_entry_point_runs_with_the_state_machine_payload(payment_list):
    state = execution_input(payment_list)
    for name in ("RegisterList", "ValidateList", "VerifySubscription"):
        state = aws.run_step(task_event(name, state))
    state = aws.run_step(task_event("ImportList", state))
    assert state["done"] is True  # the whole list in one call: the loop ends at once
    payment_list.refresh_from_db()
    assert payment_list.status == "imported"
    assert Payment.objects.filter(payment_list_id=payment_list.pk).count() == 5


def test_a_failed_step_raises_for_catch_and_compensate_reads_it(payment_list):
    payment_list.organization.subscriptions.all().delete()
    state = execution_input(payment_list)
    for name in ("RegisterList", "ValidateList"):
        state = aws.run_step(task_event(name, state))
    with pytest.raises(aws.StepFailed) as failed:
        aws.run_step(task_event("VerifySubscription", state))
    # What Catch with ResultPath $.error hands to CompensateError:
    caught = {
        "Error": "StepFailed",
        "Cause": json.dumps({"errorMessage": str(failed.value), "errorType": "StepFailed"}),
    }
    result = aws.run_step(task_event("CompensateError", {**state, "error": caught}))
    assert result["status"] == "failed"
    payment_list.refresh_from_db()
    assert payment_list.failed_step == "VerifySubscription"
    assert "no active subscription" in payment_list.failure_reason


def aws_cause(error):
    """Cause as Step Functions writes it: the Lambda error payload's JSON."""
    return json.dumps({"errorMessage": str(error), "errorType": type(error).__name__})


def interpreter_cause(error):
    """Cause as aws-local-stepfunctions writes it: "<errorType>: <errorMessage>"."""
    return f"{type(error).__name__}: {error}"


@pytest.mark.parametrize("cause", [aws_cause, interpreter_cause])
def test_when_retries_run_out_the_failed_step_is_kept(payment_list, cause):
    """DatabaseUnavailable is retried by the state machine; once the retries run out its
    Catch hands CompensateError the same {step, reason} JSON as any other failure, in
    either form of Cause."""
    state = execution_input(payment_list)
    state = aws.run_step(task_event("RegisterList", state))

    def unreachable(sql, params):
        raise OperationalError("no route")

    with (
        at_statements(table(PaymentListRow), instead=unreachable),  # the staged rows
        pytest.raises(aws.DatabaseUnavailable) as unavailable,
    ):
        aws.run_step(task_event("ValidateList", state))
    caught = {"Error": "DatabaseUnavailable", "Cause": cause(unavailable.value)}
    aws.run_step(task_event("CompensateError", {**state, "error": caught}))
    payment_list.refresh_from_db()
    assert (payment_list.status, payment_list.failed_step) == ("failed", "ValidateList")
    assert "database could not be reached while checking the rows" in payment_list.failure_reason


def test_a_lambda_timeout_is_compensated_with_the_step_it_was_in(payment_list):
    state = execution_input(payment_list)
    state = aws.run_step(task_event("RegisterList", state))
    state = aws.run_step(task_event("ValidateList", state))
    PaymentList.objects.filter(pk=payment_list.pk).update(current_step="VerifySubscription")
    caught = {"Error": "States.Timeout", "Cause": "Task timed out"}
    aws.run_step(task_event("CompensateError", {**state, "error": caught}))
    payment_list.refresh_from_db()
    assert (payment_list.status, payment_list.failed_step) == ("failed", "VerifySubscription")
    assert payment_list.failure_reason == (
        "The import stopped before it could finish (it took too long, or the function running "
        "it failed); nothing was imported. Re-run the list."
    )


def test_s3_object_created_under_inbox_starts_the_import(payment_list, settings):
    settings.PAYMENT_LIST_STATE_MACHINE_ARN = ""  # no state machine: runs in the function
    event = s3_event(payment_list.file.name)
    assert aws.on_inbox_object_created(event) == {"started": [payment_list.pk], "ignored": []}
    payment_list.refresh_from_db()
    assert payment_list.status == "imported"


def test_the_recovery_pass_is_scheduled_and_its_handler_runs(payment_list, settings):
    settings.PAYMENT_LIST_RUNNER = "stepfunctions"
    config = json.loads((Path(django_settings.BASE_DIR) / "zappa_settings.json").read_text())
    schedules = [
        event
        for stage in config.values()
        for event in stage.get("events", []) + stage.get("events_template", [])
        if event.get("function") == "payment_lists.aws.recover_on_schedule"
    ]
    assert schedules and all(s["expression"] == "rate(5 minutes)" for s in schedules)
    PaymentList.objects.filter(pk=payment_list.pk).update(
        created_at=timezone.now() - runs.UNCLAIMED_AFTER - timedelta(seconds=1)
    )
    with mock.patch.object(aws, "start_execution") as start:
        answer = aws.recover_on_schedule({"source": "aws.events"}, None)
    assert answer == {"recovered": [[payment_list.pk, "started"]]}
    start.assert_called_once()
