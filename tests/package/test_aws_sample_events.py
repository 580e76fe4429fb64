"""AWS's own sample events, fed to the unzipped package's handler as Lambda would.

The events are AWS SAM CLI's (`sam local generate-event`) and Powertools for AWS Lambda's
test events, in tests/package/events/ (its README says where each comes from and what was
adapted). Each must be answered as a user of that integration expects: API Gateway REST
(v1), HTTP API (v2) and Function URL requests get the page or the JSON; an ALB gets an
ALB-shaped answer; API errors are JSON on every host and path form; an SQS message that
is not ours is reported (batchItemFailures) or dead-lettered, never dropped; an event no
function of the stage handles is an error Lambda counts, never a silent success.

The function runs against moto's server on loopback, holding what the dev package names:
the files bucket (static files collected there, as a deploy does) and the state machine.
"""

import copy
import json
from pathlib import Path

import pytest

from tests.aws import moto_stack
from tests.package import lambda_runtime as runtime

pytestmark = [pytest.mark.package, pytest.mark.xdist_group("lambda-sample-events")]

EVENTS = Path(__file__).with_name("events")
ACCOUNT = runtime.DEV_ACCOUNT
BUCKET = runtime.DEV_BUCKET
EVENTS_MAX_ATTEMPTS = 5  # zappa_settings.json's, baked into the package
FUNCTION_URL_ID = "abcdefghijklmnopqrstuvwxyz012345"  # fills Powertools' "<url-id>"
CUSTOM_DOMAIN = "rides.wildrydes.example"


def sample(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text())


def at_path(event: dict, path: str) -> dict:
    """The same request to another path of this app (the samples use /my/path etc.)."""
    event = copy.deepcopy(event)
    if event.get("version") == "2.0":
        stage = event["requestContext"].get("stage", "$default")
        full = path if stage == "$default" else f"/{stage}{path}"
        event["rawPath"] = event["requestContext"]["http"]["path"] = full
    else:
        event["path"] = path
        if "path" in event.get("requestContext", {}):
            event["requestContext"]["path"] = path
    return event


def function_url_event() -> dict:
    """Powertools' Function URL event with its "<url-id>" placeholder filled in (a host
    name cannot hold < or >)."""
    text = (EVENTS / "powertools" / "lambdaFunctionUrlEvent.json").read_text()
    return json.loads(text.replace("<url-id>", FUNCTION_URL_ID))


def body_of(response: dict):
    assert not response.get("isBase64Encoded"), response
    return response["body"]


def json_of(response: dict):
    assert response["headers"]["Content-Type"] == "application/json", response["headers"]
    return json.loads(body_of(response))


def html_of(response: dict) -> str:
    assert response["headers"]["Content-Type"].startswith("text/html"), response["headers"]
    return body_of(response)


@pytest.fixture(scope="module")
def aws():
    with moto_stack.moto_server(ACCOUNT) as endpoint:
        runtime.create_dev_bucket_and_state_machine(endpoint)
        yield endpoint


@pytest.fixture(scope="module")
def lambda_root():
    root = runtime.unpack(runtime.ensure_package())
    yield root
    runtime.remove(root)


@pytest.fixture(scope="module")
def database(lambda_root):
    database = runtime.Database(lambda_root)
    yield database
    database.drop()


def start_function(lambda_root, database, aws, **extra):
    env = runtime.lambda_environment(
        lambda_root,
        database.url,
        AWS_ENDPOINT_URL=aws,
        DEMO_DATA_ALLOWED="true",
        **moto_stack.FAKE_CREDENTIALS,
        **extra,
    )
    return runtime.LambdaProcess(lambda_root, env)


@pytest.fixture(scope="module")
def function(lambda_root, database, aws):
    function = start_function(lambda_root, database, aws)
    try:
        runtime.collect_static_once(function.env)
        runtime.migrate_and_seed_once(function, database)
        yield function
    finally:
        function.close()


# --- API Gateway REST API (payload 1.0), as Zappa deploys it ---------------------------


def test_rest_api_health_check_from_sam(function):
    response = function(sample("sam/apigateway-aws-proxy-health"))
    assert response["statusCode"] == 200
    assert json_of(response) == {"status": "ok", "database": "ok"}
    assert response["multiValueHeaders"]["Content-Type"] == ["application/json"]


def test_rest_api_unknown_api_path_is_json_behind_the_stage_prefix(function):
    """SAM's event asks for text/html on the execute-api host (path /dev/api/...)."""
    event = sample("sam/apigateway-aws-proxy-api-404")
    assert event["requestContext"]["path"] == "/dev/api/no-such-thing/"
    response = function(event)
    assert response["statusCode"] == 404
    assert json_of(response) == {"detail": "Not found."}


def test_rest_api_home_page_from_sam(function):
    response = function(sample("sam/apigateway-aws-proxy-home"))
    assert response["statusCode"] == 200, response
    assert "Wild Rydes" in html_of(response)


def test_rest_api_event_without_a_host_header_from_powertools(function):
    """Powertools' REST event carries no Host header (as the console's Test button):
    the host is the one in its requestContext, so the app answers instead of a 400."""
    event = sample("powertools/apiGatewayProxyEvent")
    page = function(event)  # GET /my/path: no such page
    assert page["statusCode"] == 404
    assert "<html" in html_of(page)

    health = function(at_path(event, "/api/health/"))
    assert health["statusCode"] == 200
    assert json_of(health)["status"] == "ok"

    missing = function(at_path(event, "/api/my/path"))
    assert missing["statusCode"] == 404
    assert json_of(missing) == {"detail": "Not found."}


# --- API Gateway HTTP API and Function URLs (payload 2.0) ------------------------------


def test_http_api_health_check_on_the_default_stage_from_sam(function):
    response = function(sample("sam/apigateway-http-api-health"))
    assert response["statusCode"] == 200
    assert json_of(response) == {"status": "ok", "database": "ok"}
    assert response["cookies"] == []  # the 2.0 response format


def test_http_api_named_stage_unknown_api_path_is_json(function):
    response = function(sample("sam/apigateway-http-api-dev-stage-404"))
    assert response["statusCode"] == 404
    assert json_of(response) == {"detail": "Not found."}


def test_http_api_bad_token_request_is_a_json_4xx_from_sam(function):
    """SAM's base64 body, without a Content-Type: refused with a sentence, never a 500."""
    response = function(sample("sam/apigateway-http-api-token-400"))
    assert 400 <= response["statusCode"] < 500
    assert json_of(response)["detail"]


def test_http_api_event_from_powertools(function):
    event = sample("powertools/apiGatewayProxyV2Event")
    page = function(event)  # POST /my/path
    assert page["statusCode"] == 404
    assert "<html" in html_of(page)

    missing = function(at_path(event, "/api/my/path"))
    assert missing["statusCode"] == 404
    assert json_of(missing) == {"detail": "Not found."}

    health = {**at_path(event, "/api/health/"), "body": None}
    health["requestContext"]["http"]["method"] = "GET"
    assert json_of(function(health)) == {"status": "ok", "database": "ok"}


def test_function_url_serves_the_home_page_and_the_api(function):
    page = function(function_url_event())
    assert page["statusCode"] == 200, page
    assert "Wild Rydes" in html_of(page)

    health = function(at_path(function_url_event(), "/api/health/"))
    assert json_of(health) == {"status": "ok", "database": "ok"}

    missing = function(at_path(function_url_event(), "/api/no-such-thing/"))
    assert missing["statusCode"] == 404
    assert json_of(missing) == {"detail": "Not found."}


# --- Application Load Balancer -------------------------------------------------------


def assert_alb_shaped(response: dict) -> None:
    """What an ALB needs back from a Lambda target."""
    assert isinstance(response["statusCode"], int)
    assert response["statusDescription"].startswith(str(response["statusCode"]))
    assert response["isBase64Encoded"] is False
    assert all(isinstance(v, str) for v in response["headers"].values())


def test_alb_on_a_host_the_stage_does_not_serve_gets_an_alb_shaped_json_400(function):
    for name in ("sam/alb-health", "sam/alb-api-404"):
        response = function(sample(name))
        assert_alb_shaped(response)
        assert response["statusCode"] == 400
        assert "cannot be served" in json_of(response)["detail"]

    page = function(sample("powertools/albEvent"))  # GET /lambda
    assert_alb_shaped(page)
    assert page["statusCode"] == 400
    assert "<html" in html_of(page)


def over_https(event: dict) -> dict:
    """The same request through an HTTPS listener (SAM's sample came through HTTP :80)."""
    event = copy.deepcopy(event)
    event["headers"].update({"x-forwarded-proto": "https", "x-forwarded-port": "443"})
    return event


@pytest.fixture(scope="module")
def told_about_hosts(lambda_root, database, aws, function):
    """The same stage told about two more hosts (DJANGO_ALLOWED_HOSTS): SAM's load
    balancer and a custom domain of API Gateway (a base path mapping: no stage in the path)."""
    alb_host = sample("sam/alb-health")["headers"]["host"]
    other = start_function(
        lambda_root, database, aws, DJANGO_ALLOWED_HOSTS=f"{alb_host},{CUSTOM_DOMAIN}"
    )
    yield other
    other.close()


def test_alb_whose_host_the_stage_is_told_about_gets_the_api(told_about_hosts):
    alb_host = sample("sam/alb-health")["headers"]["host"]
    plain_http = told_about_hosts(sample("sam/alb-health"))
    health = told_about_hosts(over_https(sample("sam/alb-health")))
    missing = told_about_hosts(over_https(sample("sam/alb-api-404")))

    assert_alb_shaped(plain_http)  # HTTP is sent to HTTPS
    assert (plain_http["statusCode"], plain_http["statusDescription"]) == (
        301,
        "301 Moved Permanently",
    )
    assert plain_http["headers"]["Location"] == f"https://{alb_host}/api/health/?query=1234ABCD"

    assert_alb_shaped(health)
    assert (health["statusCode"], health["statusDescription"]) == (200, "200 OK")
    assert json_of(health) == {"status": "ok", "database": "ok"}
    assert_alb_shaped(missing)
    assert missing["statusCode"] == 404
    assert json_of(missing) == {"detail": "Not found."}


def on_custom_domain(event: dict) -> dict:
    """SAM's REST event as it arrives through a custom domain: that host, no stage."""
    event = copy.deepcopy(event)
    event["headers"]["Host"] = event["multiValueHeaders"]["Host"][0] = CUSTOM_DOMAIN
    event["requestContext"]["domainName"] = CUSTOM_DOMAIN
    event["requestContext"]["path"] = event["path"]
    return event


def test_custom_domain_gets_the_api_and_json_errors(told_about_hosts):
    health = told_about_hosts(on_custom_domain(sample("sam/apigateway-aws-proxy-health")))
    assert json_of(health) == {"status": "ok", "database": "ok"}
    missing = told_about_hosts(on_custom_domain(sample("sam/apigateway-aws-proxy-api-404")))
    assert missing["statusCode"] == 404
    assert json_of(missing) == {"detail": "Not found."}


# --- SQS --------------------------------------------------------------------------------


def test_sam_sqs_message_on_our_queue_is_reported_then_dead_lettered(function, database):
    event = sample("sam/sqs-hello-on-bi-queue")
    [record] = event["Records"]
    assert function(event) == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}

    # Its last delivery (SQS moves it to the queue's DLQ after this one): kept for operators.
    record["attributes"]["ApproximateReceiveCount"] = str(EVENTS_MAX_ATTEMPTS)
    assert function(event) == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    rows = database.query(
        "SELECT d.subscriber, d.status, e.type, e.data FROM events_delivery d "
        "JOIN events_outboxevent e ON e.id = d.event_id WHERE e.type = ?",
        "sqs.UnreadableMessage",
    )
    [(subscriber, status, _type, data)] = rows
    assert (subscriber, status) == ("bi", "dead")
    # SQLite gives the JSON column as text, psycopg as the decoded object.
    assert (data if isinstance(data, dict) else json.loads(data))["body"] == "Hello from SQS!"


def test_powertools_sqs_batch_from_a_queue_of_no_subscriber_is_reported(function):
    event = sample("powertools/sqsEvent")  # my-queue, in another region
    assert function(event) == {
        "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]
    }


# --- S3, schedules, SNS, EventBridge ------------------------------------------------------


def test_sam_s3_put_in_the_inbox_starts_the_payment_list_workflow(function, aws, database):
    event = sample("sam/s3-put-inbox")
    key = "inbox/1/sam sample.csv"  # SAM's key, URL-encoded in the event
    [(organization,)] = database.query("SELECT min(id) FROM payments_organization")
    assert organization == 1, "the demo organization is the event's"
    moto_stack.client("s3", aws).put_object(
        Bucket=BUCKET,
        Key=key,
        Body=b"reference,payer_email,amount,currency,ride_id\nSAM-1,a@example.com,1.00,USD,\n",
    )
    [list_id] = function(event)["started"]

    states = moto_stack.client("stepfunctions", aws)
    arn = runtime.DEV_STATE_MACHINE_ARN
    inputs = [
        json.loads(states.describe_execution(executionArn=e["executionArn"])["input"])
        for e in states.list_executions(stateMachineArn=arn)["executions"]
    ]
    assert list_id in [state_input["payment_list_id"] for state_input in inputs]


def test_powertools_s3_event_from_a_bucket_of_no_function_is_an_error(function):
    answer = function.invoke(sample("powertools/s3Event"))
    assert answer["error"]["errorType"] == "UnhandledEvent"
    assert "lambda-artifacts-deafc19498e3f2df" in answer["error"]["errorMessage"]


def test_sam_scheduled_event_runs_the_outbox_relay(function):
    result = function(sample("sam/scheduled-relay"))
    assert set(result) >= {"published"}


def test_sam_schedule_of_no_function_of_the_stage_is_an_error(function):
    answer = function.invoke(sample("sam/scheduled-example-rule"))  # rule/ExampleRule
    assert answer["error"]["errorType"] == "UnhandledEvent"
    assert "ExampleRule" in answer["error"]["errorMessage"]


@pytest.mark.parametrize("name", ["sam/sns-notification", "powertools/snsEvent"])
def test_sns_notification_the_function_is_not_subscribed_to_is_an_error(function, name):
    answer = function.invoke(sample(name))
    assert answer["error"]["errorType"] == "UnhandledEvent"
    assert "aws:sns" in answer["error"]["errorMessage"]


def test_eventbridge_event_that_is_not_our_schedule_is_an_error(function):
    answer = function.invoke(sample("powertools/eventBridgeEvent"))
    assert answer["error"]["errorType"] == "UnhandledEvent"
    assert "EC2 Instance State-change Notification" in answer["error"]["errorMessage"]


def test_warm_up_ping_is_answered(function):
    assert function({}) is None  # what Zappa's keep_warm sends
