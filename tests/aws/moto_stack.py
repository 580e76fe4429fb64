"""moto's server on loopback, and deploy/infrastructure.yaml created in it as a stack.

Shared by tests/aws (the app in this process) and tests/package (the Lambda package in a
child process that reaches moto through AWS_ENDPOINT_URL).
"""

import email
import functools
import importlib.util
import json
import logging
import os
import re
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "infrastructure.yaml"
ZAPPA_SETTINGS = ROOT / "zappa_settings.json"
REGION = "us-east-1"
MOTO_DEFAULT_ACCOUNT = "123456789012"
# For pytest.mark.filterwarnings: moto's warning about the resource types it skips.
IGNORE_UNSUPPORTED = "ignore:Tried to parse AWS.*not supported by moto:UserWarning"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
# For the processes the tests start from deploy/package.sh's virtualenv (.venv-lambda: zappa,
# collectstatic, finish_package). It holds no bytecode (package.sh installs none: Zappa zips
# the virtualenv) and the suite runs with PYTHONDONTWRITEBYTECODE set, so each of them
# compiled everything it imports again: 1.4 of the 1.9 s CPU zappa's CLI takes to import.
# Their bytecode goes to build/pycache instead, written by the first, read by the next;
# nothing is written next to the sources (the virtualenv and the checkout Zappa zips).
BYTECODE_CACHE = {
    "PYTHONDONTWRITEBYTECODE": "",
    "PYTHONPYCACHEPREFIX": str(ROOT / "build" / "pycache"),
}


def stage_module():
    spec = importlib.util.spec_from_file_location("stage", ROOT / "deploy" / "stage.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def zappa_stage(stage: str) -> dict:
    """A stage's Zappa settings as deploy/stage.py renders them from the names alone (the
    stand-in account of `settings --offline`, as deploy/package.sh builds the test zip)."""
    stages = stage_module()
    return stages.render_settings(stage, stages.OFFLINE_ACCOUNT, REGION, outputs=None)[stage]


def account_of(stage: str) -> str:
    arn = zappa_stage(stage)["environment_variables"]["EVENTS_SNS_TOPIC_ARN"]
    return arn.split(":")[4]


def load_template() -> dict:
    class Loader(yaml.SafeLoader):
        pass

    return yaml.load(TEMPLATE.read_text(), Loader=Loader)  # noqa: S506 (SafeLoader)


def _list_moto_modules_once() -> None:
    """moto's server asks, for every request, whether the Host header names one of its
    service modules by listing its package folder (174 stat calls: 0.4 ms CPU a request,
    ~10,000 requests in the deploy test). The folder cannot change during a run: listed once."""
    from moto import backends

    if not hasattr(backends.list_of_moto_modules, "cache_info"):
        backends.list_of_moto_modules = functools.cache(
            lambda listed=backends.list_of_moto_modules: tuple(listed())
        )


def _conditional_writes_one_at_a_time() -> None:
    """S3 applies a conditional write (If-None-Match, If-Match) atomically: of two at once on
    one key, one fails. moto checks the condition, then writes, in each request's thread, so
    two at once could both pass. Here moto's object PUTs and DELETEs run one at a time (the
    stage lock's tests race real processes and threads on one key)."""
    import threading

    from moto.s3.responses import S3Response

    if getattr(S3Response.put_object, "one_at_a_time", False):
        return
    guard = threading.Lock()

    def serialized(original):
        def one_at_a_time(self):
            with guard:
                return original(self)

        one_at_a_time.one_at_a_time = True
        return one_at_a_time

    for name in ("put_object", "delete_object"):
        setattr(S3Response, name, serialized(getattr(S3Response, name)))


@contextmanager
def moto_server(account: str = MOTO_DEFAULT_ACCOUNT):
    """moto in a thread of this process, on 127.0.0.1 and a free port; yields its URL.

    In this process so tests can read what moto holds beyond the AWS APIs (the e-mails SES
    "sent"). The account is the one zappa_settings.json names (MOTO_ACCOUNT_ID, restored).
    """
    from moto.server import ThreadedMotoServer

    _list_moto_modules_once()
    _conditional_writes_one_at_a_time()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    previous = os.environ.get("MOTO_ACCOUNT_ID")
    if account != MOTO_DEFAULT_ACCOUNT:
        os.environ["MOTO_ACCOUNT_ID"] = account
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    reset(endpoint)  # moto's state lives in this process, shared with other moto tests
    try:
        yield endpoint
    finally:
        reset(endpoint)
        server.stop()
        if previous is None:
            os.environ.pop("MOTO_ACCOUNT_ID", None)
        else:
            os.environ["MOTO_ACCOUNT_ID"] = previous


def reset(endpoint: str) -> None:
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
        assert response.status == 200


def seed(endpoint: str, value: int) -> None:
    """moto's identifiers (subnets, security groups, secrets' ARN suffixes, the proxy's
    endpoint...) drawn from a seeded generator (moto's /moto-api/seed): the same calls in
    the same order get the same ids on every run."""
    request = urllib.request.Request(f"{endpoint}/moto-api/seed?a={value}", method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
        assert response.status == 200


def client(service: str, endpoint: str):
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
    )


@dataclass
class Stack:
    endpoint: str
    stage: str
    resources: dict  # logical id -> physical id
    template: dict
    queue_urls: dict = field(default_factory=dict)  # subscriber -> queue URL
    dlq_urls: dict = field(default_factory=dict)

    @property
    def bucket(self) -> str:
        return self.resources["FilesBucket"]

    @property
    def topic_arn(self) -> str:
        return self.resources["EventsTopic"]

    @property
    def state_machine_arn(self) -> str:
        return self.resources["PaymentListStateMachine"]

    def queue_arn(self, subscriber: str) -> str:
        url = self.queue_urls[subscriber]
        attributes = client("sqs", self.endpoint).get_queue_attributes(
            QueueUrl=url, AttributeNames=["QueueArn"]
        )
        return attributes["Attributes"]["QueueArn"]

    def receive(self, subscriber: str, *, dead: bool = False) -> list[dict]:
        """Everything waiting in a subscriber's queue (or its DLQ), left invisible."""
        sqs = client("sqs", self.endpoint)
        url = (self.dlq_urls if dead else self.queue_urls)[subscriber]
        messages = []
        while True:
            batch = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                VisibilityTimeout=30,
            ).get("Messages", [])
            if not batch:
                return messages
            messages.extend(batch)

    def subscribe_queues(self) -> None:
        """The template's AWS::SNS::Subscription resources, which moto's CloudFormation
        skips ("No Moto CloudFormation support"): made through the SNS API with exactly the
        template's properties, so the filter policies under test are the template's."""
        sns = client("sns", self.endpoint)
        for logical_id, resource in self.template["Resources"].items():
            if resource["Type"] != "AWS::SNS::Subscription":
                continue
            properties = resource["Properties"]
            if properties["Protocol"] != "sqs":  # the ops topic's optional e-mail
                continue
            queue_logical_id = properties["Endpoint"]["Fn::GetAtt"][0]
            subscriber = self.subscriber_of(queue_logical_id)
            assert properties["TopicArn"] == {"Ref": "EventsTopic"}, logical_id
            sns.subscribe(
                TopicArn=self.topic_arn,
                Protocol=properties["Protocol"],
                Endpoint=self.queue_arn(subscriber),
                Attributes={
                    "FilterPolicy": json.dumps(properties["FilterPolicy"]),
                    "FilterPolicyScope": properties["FilterPolicyScope"],
                    "RawMessageDelivery": str(properties["RawMessageDelivery"]).lower(),
                },
            )

    def apply_bucket_policy(self) -> None:
        """The template's AWS::S3::BucketPolicy (public static files), which moto's
        CloudFormation skips too: put through the S3 API as the template has it."""
        [policy] = [
            r["Properties"]
            for r in self.template["Resources"].values()
            if r["Type"] == "AWS::S3::BucketPolicy"
        ]
        assert policy["Bucket"] == {"Ref": "FilesBucket"}
        document = json.loads(
            json.dumps(policy["PolicyDocument"]).replace(
                '{"Fn::Sub": "${FilesBucket.Arn}/static/*"}',
                json.dumps(f"arn:aws:s3:::{self.bucket}/static/*"),
            )
        )
        assert "Fn::" not in json.dumps(document), document
        client("s3", self.endpoint).put_bucket_policy(
            Bucket=self.bucket, Policy=json.dumps(document)
        )

    def subscriber_of(self, queue_logical_id: str) -> str:
        name = self.template["Resources"][queue_logical_id]["Properties"]["QueueName"]["Fn::Sub"]
        return name.rsplit("-", 1)[-1]


def create_stack(endpoint: str, stage: str = "dev") -> Stack:
    from tests.aws import moto_gaps

    moto_gaps.install()
    cloudformation = client("cloudformation", endpoint)
    name = stage_module().stack_name(stage)
    # moto skips (with a warning: see IGNORE_UNSUPPORTED) the S3 bucket policy and the SQS
    # queue policies, which it would not enforce anyway, and the subscriptions, made below.
    cloudformation.create_stack(
        StackName=name,
        TemplateBody=TEMPLATE.read_text(),
        Parameters=[{"ParameterKey": "Stage", "ParameterValue": stage}],
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    status = cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
    assert status == "CREATE_COMPLETE", status
    summaries = cloudformation.list_stack_resources(StackName=name)["StackResourceSummaries"]
    stack = Stack(
        endpoint=endpoint,
        stage=stage,
        resources={r["LogicalResourceId"]: r["PhysicalResourceId"] for r in summaries},
        template=load_template(),
    )
    for logical_id, resource in stack.template["Resources"].items():
        if resource["Type"] != "AWS::SQS::Queue":
            continue
        queue_name = re.sub(r"\$\{Stage\}", stage, resource["Properties"]["QueueName"]["Fn::Sub"])
        url = stack.resources[logical_id]
        assert url.endswith("/" + queue_name), (url, queue_name)
        # moto names the URL after its own host; ask for the one this server answers on.
        url = client("sqs", endpoint).get_queue_url(QueueName=queue_name)["QueueUrl"]
        if queue_name.endswith("-dlq"):
            stack.dlq_urls[queue_name.removesuffix("-dlq").rsplit("-", 1)[-1]] = url
        else:
            stack.queue_urls[queue_name.rsplit("-", 1)[-1]] = url
    stack.subscribe_queues()
    stack.apply_bucket_policy()
    return stack


def sqs_lambda_event(queue_arn: str, messages: list[dict]) -> dict:
    """The event Lambda's SQS event source mapping hands the function for these messages."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message["Attributes"],
                "messageAttributes": {
                    name: {
                        "stringValue": value.get("StringValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": value["DataType"],
                    }
                    for name, value in message.get("MessageAttributes", {}).items()
                },
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for message in messages
        ]
    }


def event_types(messages: list[dict]) -> list[str]:
    """The `type` of each event in these SQS messages (raw SNS delivery: the envelope)."""
    return sorted(json.loads(message["Body"])["type"] for message in messages)


def sent_emails(to: str, account: str = MOTO_DEFAULT_ACCOUNT) -> list[str]:
    """The plain-text bodies of what SES (moto, in this process) sent to this address."""
    from moto.ses.models import ses_backends

    bodies = []
    for message in ses_backends[account][REGION].sent_messages:
        raw = getattr(message, "raw_data", None)
        if raw is None or to not in raw:
            continue
        parsed = email.message_from_string(raw)
        parts = parsed.walk() if parsed.is_multipart() else [parsed]
        bodies += [
            part.get_payload(decode=True).decode()
            for part in parts
            if part.get_content_type() == "text/plain"
        ]
    return bodies
