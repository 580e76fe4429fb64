"""The Step Functions definition comes from the same step list as the local runner."""

import json
from datetime import timedelta

import boto3
import pytest
from django.core.management import call_command
from django.utils import timezone
from moto import mock_aws

from payment_lists import aws, workflow
from payment_lists.models import PaymentList
from payment_lists.state_machine import definition
from payments.models import Payment, Subscription
from tests.factories import OrganizationFactory
from tests.payment_lists.lists import csv_file, good_rows

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


def test_import_list_loops_until_done():
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
    org = OrganizationFactory()
    Subscription.objects.create(
        organization=org, plan="pro", starts_at=timezone.now() - timedelta(days=1),
        max_rows_per_list=100, max_total_minor_per_list=10**9,
    )  # fmt: skip
    settings.PAYMENT_LIST_IMPORT_CHUNK = 2
    payment_list = PaymentList.objects.create(organization=org, submitted_by="test")
    payment_list.file.save("l.csv", csv_file(good_rows(5)), save=True)
    return payment_list


def task_event(name: str, state_input: dict) -> dict:
    """Exactly what the state machine sends: the task's Parameters with input.$ resolved."""
    params = definition(ARN)["States"][name]["Parameters"]
    return {"command": params["command"], "step": params["step"], "input": state_input}


def test_each_step_entry_point_runs_with_the_state_machine_payload(payment_list):
    state = {"payment_list_id": payment_list.pk}
    for name in ("RegisterList", "ValidateList", "VerifySubscription"):
        state = aws.run_step(task_event(name, state))
    loops = 0
    while not state.get("done"):
        state = aws.run_step(task_event("ImportList", state))
        loops += 1
    assert loops == 3
    payment_list.refresh_from_db()
    assert payment_list.status == "imported"
    assert Payment.objects.filter(payment_list_id=payment_list.pk).count() == 5


def test_a_failed_step_raises_for_catch_and_compensate_reads_it(payment_list):
    payment_list.organization.subscriptions.all().delete()
    state = {"payment_list_id": payment_list.pk}
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


def test_s3_object_created_under_inbox_starts_the_import(payment_list, settings):
    settings.PAYMENT_LIST_STATE_MACHINE_ARN = ""  # no state machine: runs in the function
    event = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": "wildrydes-dev-media"},
                    "object": {"key": payment_list.file.name, "size": 100},
                },
            }
        ]
    }
    assert aws.on_inbox_object_created(event) == {"started": [payment_list.pk]}
    payment_list.refresh_from_db()
    assert payment_list.status == "imported"
