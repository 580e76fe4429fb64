"""deploy/infrastructure.yaml: generated from the code, valid, named as zappa_settings.json
expects, and, created as a stack in moto, the resources the app's AWS paths work against."""

import ast
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from events import aws as events_aws
from events import relay as events_relay
from events.models import OutboxEvent
from payment_lists import state_machine
from tests.aws import moto_stack

ROOT = moto_stack.ROOT
IN_CI = os.environ.get("CI", "").lower() == "true"
STAGES = ("dev", "prod")

pytestmark = pytest.mark.filterwarnings(moto_stack.IGNORE_UNSUPPORTED)


def generator():
    spec = importlib.util.spec_from_file_location(
        "infrastructure", ROOT / "deploy" / "infrastructure.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def missing(prerequisite: str):
    if IN_CI:
        pytest.fail(f"{prerequisite} is missing (CI=true: a missing prerequisite fails)")
    pytest.skip(f"{prerequisite} is missing")


def test_template_is_the_one_generated_from_the_code():
    infrastructure = generator()
    assert moto_stack.TEMPLATE.read_text() == infrastructure.render(infrastructure.build()), (
        "deploy/infrastructure.yaml is stale: .venv/bin/python deploy/infrastructure.py "
        "> deploy/infrastructure.yaml"
    )


def test_cfn_lint_passes():
    cfn_lint = shutil.which("cfn-lint", path=str(Path(sys.executable).parent)) or shutil.which(
        "cfn-lint"
    )
    if not cfn_lint:
        missing("cfn-lint")
    run = subprocess.run(
        [cfn_lint, str(moto_stack.TEMPLATE)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_one_queue_and_dead_letter_queue_per_subscriber_filtered_on_its_event_types():
    resources = moto_stack.load_template()["Resources"]
    subscriptions = {
        resource["Properties"]["Endpoint"]["Fn::GetAtt"][0]: resource["Properties"]
        for resource in resources.values()
        if resource["Type"] == "AWS::SNS::Subscription"
        and resource["Properties"]["Protocol"] == "sqs"
    }
    assert len(subscriptions) == len(django_settings.EVENT_SUBSCRIBERS)
    for name, subscriber in django_settings.EVENT_SUBSCRIBERS.items():
        queue_id = next(
            logical_id
            for logical_id, resource in resources.items()
            if resource["Type"] == "AWS::SQS::Queue"
            and resource["Properties"]["QueueName"]["Fn::Sub"].endswith(f"-events-{name}")
        )
        queue = resources[queue_id]["Properties"]
        assert queue["RedrivePolicy"]["maxReceiveCount"] == django_settings.EVENTS_MAX_ATTEMPTS
        dlq_id = queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert resources[dlq_id]["Properties"]["QueueName"]["Fn::Sub"].endswith(f"-{name}-dlq")
        assert subscriptions[queue_id]["FilterPolicy"] == {
            "event_type": sorted(subscriber["types"])
        }


@pytest.mark.parametrize("stage", STAGES)
def test_zappa_settings_name_the_stacks_resources(stage):
    config = moto_stack.zappa_stage(stage)
    env = config["environment_variables"]
    account, region = moto_stack.account_of(stage), config["aws_region"]
    prefix = f"wildrydes-{stage}"

    assert env["WILDRYDES_STAGE"] == stage
    assert env["AWS_STORAGE_BUCKET_NAME"] == f"{prefix}-files-{account}"
    assert env["EVENTS_SNS_TOPIC_ARN"] == f"arn:aws:sns:{region}:{account}:{prefix}-events"
    assert env["PAYMENT_LIST_STATE_MACHINE_ARN"] == (
        f"arn:aws:states:{region}:{account}:stateMachine:{prefix}-payment-list"
    )
    assert env["PAYMENT_LIST_RUNNER"] == "stepfunctions"
    assert env["DJANGO_EMAIL_BACKEND"] == "django_ses.SESBackend"
    assert int(env["EVENTS_MAX_ATTEMPTS"]) == django_settings.EVENTS_MAX_ATTEMPTS
    assert config["role_name"] == f"{prefix}-lambda" and config["manage_roles"] is False

    by_function = {}
    for event in config["events"]:
        by_function.setdefault(event["function"], []).append(event)
    queues = sorted(e["event_source"]["arn"] for e in by_function["events.aws.handle_sqs_event"])
    assert queues == sorted(
        f"arn:aws:sqs:{region}:{account}:{prefix}-events-{name}"
        for name in django_settings.EVENT_SUBSCRIBERS
    )
    [inbox] = by_function["payment_lists.aws.on_inbox_object_created"]
    assert inbox["event_source"] == {
        "arn": f"arn:aws:s3:::{prefix}-files-{account}",
        "events": ["s3:ObjectCreated:*"],
        "prefix": "inbox/",
    }
    [relay] = by_function["events.aws.relay_on_schedule"]
    assert relay["expression"] == "rate(1 minute)"

    # SQS requires a visibility timeout of at least the function's timeout.
    resources = moto_stack.load_template()["Resources"]
    visibility = [
        r["Properties"]["VisibilityTimeout"]
        for r in resources.values()
        if r["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in r["Properties"]
    ]
    assert min(visibility) >= config["timeout_seconds"]


def test_zappa_settings_name_no_account_and_the_stage_stack_never_takes_zappas_name():
    import re

    text = moto_stack.ZAPPA_SETTINGS.read_text()
    assert not re.search(r"\b\d{12}\b", text), "an account id in zappa_settings.json"
    assert not re.search(r"arn:aws:[a-z0-9-]+:[a-z0-9-]*:\d", text), "an ARN with an account"
    stages = moto_stack.stage_module()
    for stage in ("dev", "prod", "ci", "alice"):
        # Zappa names its CloudFormation stack after the function.
        assert stages.stack_name(stage) != stages.function_name(stage)
        assert stages.function_name(stage) == f"wildrydes-{stage}"


def test_no_secret_in_zappa_settings():
    text = moto_stack.ZAPPA_SETTINGS.read_text()
    for secret in ("DJANGO_SECRET_KEY", "DATABASE_URL", "aws_environment_variables"):
        assert secret not in text
    for stage in STAGES:
        assert moto_stack.zappa_stage(stage)["debug"] is False  # Zappa would log every event


@pytest.fixture
def stack(monkeypatch):
    """The stack in moto, and this process's boto3 pointed at it."""
    with moto_stack.moto_server(moto_stack.account_of("dev")) as endpoint:
        for name, value in moto_stack.FAKE_CREDENTIALS.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
        monkeypatch.setenv("AWS_DEFAULT_REGION", moto_stack.REGION)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        yield moto_stack.create_stack(endpoint, "dev")


@pytest.mark.django_db
def test_published_events_reach_each_subscriber_queue_per_its_filter_policy(stack, settings):
    settings.EVENTS_SNS_TOPIC_ARN = stack.topic_arn
    all_types = sorted({t for s in settings.EVENT_SUBSCRIBERS.values() for t in s["types"]})
    published = [
        OutboxEvent.objects.create(id=uuid.uuid4(), type=t, occurred_at=timezone.now(), data={})
        for t in [*all_types, "rides.RideRequested"]  # the last one: nobody listens
    ]
    assert events_relay.publish_events([event.pk for event in published]) == len(published)

    for name, subscriber in settings.EVENT_SUBSCRIBERS.items():
        received = stack.receive(name)
        assert moto_stack.event_types(received) == sorted(subscriber["types"]), name
        # Each message names its queue's subscriber to the SQS entry point.
        queue_arn = stack.queue_arn(name)
        assert events_aws.subscriber_for_queue(queue_arn).name == name
        body = json.loads(received[0]["Body"])
        assert set(body) >= {"id", "type", "version", "occurred_at", "data"}


def test_dead_letter_queues_take_messages_after_events_max_attempts(stack, settings):
    sqs = moto_stack.client("sqs", stack.endpoint)
    for name in settings.EVENT_SUBSCRIBERS:
        attributes = sqs.get_queue_attributes(
            QueueUrl=stack.queue_urls[name], AttributeNames=["All"]
        )["Attributes"]
        redrive = json.loads(attributes["RedrivePolicy"])
        dlq_arn = sqs.get_queue_attributes(
            QueueUrl=stack.dlq_urls[name], AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        assert redrive == {
            "deadLetterTargetArn": dlq_arn,
            "maxReceiveCount": settings.EVENTS_MAX_ATTEMPTS,
        }


def test_state_machine_runs_the_generated_definition_on_the_stage_lambda(stack):
    states = moto_stack.client("stepfunctions", stack.endpoint)
    described = states.describe_state_machine(stateMachineArn=stack.state_machine_arn)
    account = moto_stack.account_of("dev")
    function_arn = f"arn:aws:lambda:{moto_stack.REGION}:{account}:function:wildrydes-dev"

    assert (
        stack.state_machine_arn
        == moto_stack.zappa_stage("dev")["environment_variables"]["PAYMENT_LIST_STATE_MACHINE_ARN"]
    )
    assert json.loads(described["definition"]) == state_machine.definition(function_arn)
    role_name = described["roleArn"].rsplit("/", 1)[-1]
    iam = moto_stack.client("iam", stack.endpoint)
    [policy_name] = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
    if isinstance(document, str):  # moto's CloudFormation stores the Python repr of it
        document = ast.literal_eval(document)
    [statement] = document["Statement"]
    assert statement["Action"] == "lambda:InvokeFunction"
    assert function_arn in statement["Resource"]
