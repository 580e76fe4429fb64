"""The Lambda package against AWS APIs: the dev stage's zip, run by Zappa's real handler in a
warm "container" (one child process, as tests/package/invoke_handler.py explains), against
deploy/infrastructure.yaml created as a stack in moto's server on loopback.

The package is the dev stage's: its environment (baked in by Zappa, and applied over the
process's) names the stack's bucket, topic and state machine, and SES for mail. The child
only gets what the Lambda configuration would hold (secrets, DATABASE_URL) plus
AWS_ENDPOINT_URL, which boto3, django-storages and django-ses honour.

The deploy sequence runs first: collectstatic to the moto bucket from outside the function
(as `make deploy` does: the zip carries no static files; run once per package build, its
objects kept for the next module: lambda_runtime.collect_static_once), then Zappa's own
command events: `manage migrate`, the demo data (DEMO_DATA_ALLOWED for the test only; on
SQLite both run once per test run, the next module starts from a copy of the database:
lambda_runtime.migrate_and_seed_once) and, through `raw_command`, a half-price campaign so
the discount is sure.
"""

import json
import re
import statistics
import time
import urllib.request
import uuid

import pytest

from tests.aws import moto_stack
from tests.package import lambda_runtime as runtime
from tests.package.lambda_invoke_api import InvokeApi
from tests.package.lambda_runtime import api_event, json_body
from tests.stepfunctions import asl

pytestmark = [
    pytest.mark.package,
    pytest.mark.xdist_group("lambda-flows"),
    pytest.mark.filterwarnings(moto_stack.IGNORE_UNSUPPORTED),
]

STAGE = "dev"
ACCOUNT = moto_stack.account_of(STAGE)
PASSWORD = "correct-horse-battery-staple-42"
DEMO_PASSWORD = "wildrydes-demo"
PICKUP = {"latitude": 47.6097, "longitude": -122.3331}
HALF_PRICE_CAMPAIGN = """
from datetime import timedelta
from decimal import Decimal
from django.conf import settings
from django.utils import timezone
from promos.models import Campaign
campaign = Campaign.objects.create(
    name="Package test: half price", starts_at=timezone.now() - timedelta(days=1),
    priority=100, center_latitude=settings.CITY_CENTER[0],
    center_longitude=settings.CITY_CENTER[1], radius_km=25,
)
campaign.tiers.create(multiplier=Decimal("0.50"), weight=1)
"""


@pytest.fixture(scope="module")
def stack():
    with moto_stack.moto_server(ACCOUNT) as endpoint:
        stack = moto_stack.create_stack(endpoint, STAGE)
        # SES only sends from a verified identity (DEFAULT_FROM_EMAIL's domain).
        moto_stack.client("ses", endpoint).verify_domain_identity(Domain="wildrydes.example")
        yield stack


@pytest.fixture(scope="module")
def database(lambda_root):
    database = runtime.Database(lambda_root)
    yield database
    database.drop()


@pytest.fixture(scope="module")
def lambda_root():
    root = runtime.unpack(runtime.ensure_package())
    yield root
    runtime.remove(root)


@pytest.fixture(scope="module")
def function(lambda_root, stack, database):
    env = runtime.lambda_environment(
        lambda_root,
        database.url,
        AWS_ENDPOINT_URL=stack.endpoint,
        DEMO_DATA_ALLOWED="true",
        # The ride's clock runs fast: a unicorn arrives within a second; boarding: 36 s.
        RIDE_TIME_SCALE="1000",
        RIDE_BOARDING_MINUTES="600",
        **moto_stack.FAKE_CREDENTIALS,
    )
    function = runtime.LambdaProcess(lambda_root, env)
    try:
        # The deploy sequence, as `zappa manage dev ...` sends it (collectstatic from the
        # deployer's machine, as `make deploy` runs it), then the test's data.
        runtime.collect_static_once(env)
        runtime.migrate_and_seed_once(function, database)
        assert function({"raw_command": HALF_PRICE_CAMPAIGN}) in ({}, None)
        yield function
    finally:
        function.close()


def sign_up(function, address: str) -> str:
    """Register, confirm the e-mailed code, and get a token: a rider's API key."""
    response = function(
        api_event("POST", "/api/auth/register/", body={"email": address, "password": PASSWORD})
    )
    assert response["statusCode"] == 201, response
    [body] = moto_stack.sent_emails(address, ACCOUNT)
    code = re.search(r"\b(\d{6})\b", body)[1]
    response = function(
        api_event("POST", "/api/auth/confirm/", body={"email": address, "code": code})
    )
    assert response["statusCode"] == 200, response
    return log_in(function, address, PASSWORD)


def log_in(function, address: str, password: str) -> str:
    response = function(
        api_event("POST", "/api/auth/token/", body={"email": address, "password": password})
    )
    assert response["statusCode"] == 200, response
    return json_body(response)["token"]


def book_ride(function, token: str) -> dict:
    response = function(api_event("POST", "/api/rides/", body={"pickup": PICKUP}, token=token))
    assert response["statusCode"] == 201, response
    return json_body(response)


def board_when_arrived(function, token: str, ride: dict) -> None:
    path = f"/api/rides/{ride['id']}/board/"
    for _ in range(100):
        boarded = function(api_event("POST", path, token=token))
        if boarded["statusCode"] == 200:
            return
        assert boarded["statusCode"] == 409, boarded  # not there yet
        time.sleep(0.05)
    raise AssertionError(f"the unicorn never arrived: {boarded}")


def test_api_through_api_gateway_events(function, stack):
    health = function(api_event("GET", "/api/health/"))
    assert health["statusCode"] == 200
    assert json_body(health) == {"status": "ok", "database": "ok"}

    token = sign_up(function, f"rider-{uuid.uuid4().hex[:8]}@example.com")
    ride = book_ride(function, token)
    assert ride["status"] == "assigned"
    assert ride["unicorn"]["name"]
    assert ride["discount_multiplier"] == "0.50"  # the half-price campaign

    missing = function(api_event("GET", "/api/no-such-thing/"))
    assert missing["statusCode"] == 404
    assert missing["headers"]["Content-Type"].startswith("application/json")
    assert "detail" in json_body(missing)


def test_admin_login_page_takes_its_static_files_from_the_bucket(function, stack):
    page = function(api_event("GET", "/admin/login/", headers={"Accept": "text/html"}))
    assert page["statusCode"] == 200, page
    static_url = f"{stack.endpoint}/{stack.bucket}/static/"
    css = re.search(
        rf'href="({re.escape(static_url)}admin/css/login\.[0-9a-f]{{12}}\.css)"', page["body"]
    )
    assert css, re.findall(r'href="[^"]+\.css"', page["body"])
    with urllib.request.urlopen(css[1], timeout=10) as served:  # noqa: S310 (moto, loopback)
        assert served.status == 200
        assert b"login" in served.read()


def drain(stack, subscriber: str) -> None:
    """Delete what waits in a subscriber's queue (earlier events: not this test's)."""
    sqs = moto_stack.client("sqs", stack.endpoint)
    for message in stack.receive(subscriber):
        sqs.delete_message(
            QueueUrl=stack.queue_urls[subscriber], ReceiptHandle=message["ReceiptHandle"]
        )


def subscribed_types(subscriber: str) -> set[str]:
    from django.conf import settings

    return set(settings.EVENT_SUBSCRIBERS[subscriber]["types"])


def test_events_relay_on_schedule_then_reach_their_subscriber_through_sqs(function, stack):
    token = sign_up(function, f"rider-{uuid.uuid4().hex[:8]}@example.com")
    ride = book_ride(function, token)
    sns = moto_stack.client("sns", stack.endpoint)
    for subscriber in ("bi", "notifications"):
        drain(stack, subscriber)  # the booking's events (rides.RideAssigned, ...)

    # SNS out of reach: the ride still completes, its events wait in the outbox.
    sns.delete_topic(TopicArn=stack.topic_arn)
    board_when_arrived(function, token, ride)
    completed = function(api_event("POST", f"/api/rides/{ride['id']}/complete/", token=token))
    assert completed["statusCode"] == 200, completed
    sns.create_topic(Name=stack.topic_arn.rsplit(":", 1)[-1])
    stack.subscribe_queues()
    assert stack.receive("notifications") == []

    # The scheduled relay (EventBridge rule wildrydes-dev-events.aws.relay_on_schedule).
    relayed = function(runtime.scheduled_event("events.aws.relay_on_schedule"))
    assert relayed["published"] >= 2  # rides.RideCompleted, payments.PaymentRegistered

    # Each queue got what its filter policy lets through, and only that.
    bi_types = set(moto_stack.event_types(stack.receive("bi")))
    assert "rides.RideCompleted" in bi_types
    assert bi_types <= subscribed_types("bi")
    messages = stack.receive("notifications")
    types = set(moto_stack.event_types(messages))
    assert {"payments.PaymentRegistered", "rides.RideCompleted"} <= types
    assert types <= subscribed_types("notifications")

    # The notifications queue's batch, as Lambda's event source mapping delivers it.
    result = function(moto_stack.sqs_lambda_event(stack.queue_arn("notifications"), messages))
    assert result == {"batchItemFailures": []}
    notifications = json_body(function(api_event("GET", "/api/notifications/", token=token)))
    told = [n["message"] for n in notifications["results"]]
    assert any("registered for your ride" in message for message in told), told

    # Delivered again (at least once): the subscriber runs once per event id.
    result = function(moto_stack.sqs_lambda_event(stack.queue_arn("notifications"), messages))
    assert result == {"batchItemFailures": []}
    again = json_body(function(api_event("GET", "/api/notifications/", token=token)))
    assert again["count"] == notifications["count"]


def test_csv_dropped_in_the_inbox_is_imported_by_the_state_machine(
    function, stack, database, tmp_path
):
    [(organization_id,)] = database.query(
        "SELECT id FROM payments_organization WHERE name = ?", "Enchanted Forest Tours"
    )
    s3 = moto_stack.client("s3", stack.endpoint)
    sqs = moto_stack.client("sqs", stack.endpoint)
    # S3's own ObjectCreated record: moto sends it to a queue where the test picks it up.
    probe = sqs.create_queue(QueueName="s3-notifications-probe")["QueueUrl"]
    probe_arn = sqs.get_queue_attributes(QueueUrl=probe, AttributeNames=["QueueArn"])
    s3.put_bucket_notification_configuration(
        Bucket=stack.bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": "wildrydes-dev",
                    "QueueArn": probe_arn["Attributes"]["QueueArn"],
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "inbox/"}]}},
                }
            ]
        },
    )
    run = uuid.uuid4().hex[:8]
    csv = (
        "reference,payer_email,amount,currency,ride_id\n"
        f"PKG-{run}-1,payer1@example.com,12.50,USD,\n"
        f"PKG-{run}-2,payer2@example.com,7.25,EUR,\n"
    )
    key = f"inbox/{organization_id}/sftp drop {run}.csv"
    s3.put_object(Bucket=stack.bucket, Key=key, Body=csv.encode())
    s3_event = next(
        body
        for message in sqs.receive_message(
            QueueUrl=probe, MaxNumberOfMessages=10, WaitTimeSeconds=5
        )["Messages"]
        if "Records" in (body := json.loads(message["Body"]))  # not S3's "s3:TestEvent"
    )
    assert s3_event["Records"][0]["eventName"].startswith("ObjectCreated")

    [list_id] = function(s3_event)["started"]
    states = moto_stack.client("stepfunctions", stack.endpoint)
    [execution] = states.list_executions(stateMachineArn=stack.state_machine_arn)["executions"]
    started = states.describe_execution(executionArn=execution["executionArn"])
    assert json.loads(started["input"])["payment_list_id"] == list_id

    # The stack's state machine, run by a real ASL interpreter (tests/stepfunctions) whose
    # tasks reach this function through a loopback Invoke API.
    definition = tmp_path / "stack-state-machine.asl.json"
    definition.write_text(
        states.describe_state_machine(stateMachineArn=stack.state_machine_arn)["definition"]
    )
    assert asl.validate(definition).returncode == 0
    with InvokeApi(function) as invoke_api:
        execution = asl.run_execution(definition, invoke_api, json.loads(started["input"]))
    assert execution["status"] == "SUCCEEDED", execution

    token = log_in(function, "finance@example.com", DEMO_PASSWORD)
    payment_list = json_body(
        function(api_event("GET", f"/api/payment-lists/{list_id}/", token=token))
    )
    assert payment_list["status"] == "imported", payment_list
    assert payment_list["rows_imported"] == 2


def test_warm_invocations_skip_the_start_up(function):
    """One container: after the first event, no Django set-up per request. Read as the
    function's own CPU, which a loaded machine barely changes (its wall time per request
    went over the old 0.25-s bound at load 20): Django's set-up alone costs more than
    0.25 s CPU, a warm health check a few ms."""
    answers = [function.invoke(api_event("GET", "/api/health/")) for _ in range(20)]
    assert [answer["response"]["statusCode"] for answer in answers] == [200] * 20
    assert all(answer["foreign_modules"] == [] for answer in answers)
    assert statistics.median(answer["cpu_seconds"] for answer in answers) < 0.05
