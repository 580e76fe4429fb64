"""The payment-list state machine, checked by asl-validator and run by a real ASL interpreter.

The definition is the one `manage.py payment_list_state_machine` generates (what the stack
deploys). asl-validator must accept it; aws-local-stepfunctions (Node, this folder's
package.json, pinned by its package-lock.json: `npm ci` here) then runs executions of it
whose Task states call Lambda's Invoke API through the AWS SDK for JavaScript, at a
loopback Invoke API (tests/package/lambda_invoke_api.py) served by the real unzipped
package in a bare interpreter, on a PostgreSQL server of its own (started here). The files
bucket and the state machine the package names (to start an execution) are in moto's server.

A list is dropped into the inbox as S3 reports it (SAM CLI's S3 put event, naming the
object), the function starts an execution, and the interpreter runs it. Checked: the
execution's final state and event log, and the database rows (the list, its payments, the
outbox's events).

Only the Retry intervals are shortened (to 0 ms, run_execution.mjs); the attempts are the
definition's. Where node, npm's packages or PostgreSQL are missing the tests are skipped
loudly, except in CI (CI=true), where that is a failure.
"""

import copy
import json
import uuid
from pathlib import Path

import pytest

from tests import pgcluster
from tests.aws import moto_stack
from tests.package import lambda_runtime as runtime
from tests.package.lambda_invoke_api import InvokeApi
from tests.stepfunctions import asl

pytestmark = [pytest.mark.package, pytest.mark.xdist_group("lambda-asl")]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
S3_PUT = ROOT / "tests" / "package" / "events" / "sam" / "s3-put-inbox.json"
HEADER = "reference,payer_email,amount,currency,ride_id\n"
DEMO_ORGANIZATION = "Enchanted Forest Tours"  # seed_demo's, with an active subscription


@pytest.fixture(scope="module")
def definition_file(tmp_path_factory):
    """`manage.py payment_list_state_machine`'s output, for the dev stage's function."""
    from io import StringIO

    from django.core.management import call_command

    asl.node()
    out = StringIO()
    call_command("payment_list_state_machine", function_arn=runtime.DEV_FUNCTION_ARN, stdout=out)
    path = tmp_path_factory.mktemp("asl") / "payment-list.asl.json"
    path.write_text(out.getvalue())
    return path


@pytest.fixture(scope="module")
def postgres():
    if not pgcluster.available():
        asl.unavailable("no PostgreSQL server binaries (Debian: postgresql)")
    with pgcluster.running_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="module")
def aws():
    with moto_stack.moto_server(runtime.DEV_ACCOUNT) as endpoint:
        runtime.create_dev_bucket_and_state_machine(endpoint)
        yield endpoint


@pytest.fixture(scope="module")
def lambda_root():
    root = runtime.unpack(runtime.ensure_package())
    yield root
    runtime.remove(root)


@pytest.fixture(scope="module")
def database(lambda_root, postgres):
    database = runtime.Database(lambda_root, server=postgres.url)
    yield database
    database.drop()


class Outage:
    """The database refuses every connection (as when it is down or failing over) from the
    moment a given step is invoked until `CompensateError` is: the function's connection is
    cut, and new ones are refused."""

    def __init__(self, database: runtime.Database):
        self.database = database
        self.during: str | None = None
        self.down = False

    def _admin(self, *statements: str) -> None:
        import psycopg

        with psycopg.connect(self.database.admin_url, autocommit=True) as connection:
            for statement in statements:
                connection.execute(statement, {"name": self.database.name})

    def before_invoke(self, event: dict) -> None:
        step = event.get("step")
        name = self.database.name
        if self.during and step == self.during and not self.down:
            self._admin(
                f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false',
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %(name)s AND pid <> pg_backend_pid()",
            )
            self.down = True
        elif self.down and step == "CompensateError":
            self.end()

    def end(self) -> None:
        if self.down:
            self._admin(f'ALTER DATABASE "{self.database.name}" ALLOW_CONNECTIONS true')
            self.down = False
        self.during = None


@pytest.fixture(scope="module")
def outage(database):
    return Outage(database)


@pytest.fixture(scope="module")
def invoke_api(lambda_root, database, aws, outage):
    env = runtime.lambda_environment(
        lambda_root,
        database.url,
        AWS_ENDPOINT_URL=aws,
        DEMO_DATA_ALLOWED="true",
        **moto_stack.FAKE_CREDENTIALS,
    )
    function = runtime.LambdaProcess(lambda_root, env)
    try:
        for event in ({"manage": "migrate --noinput"}, {"manage": "seed_demo"}):
            assert function(event, timeout=300) in ({}, None)
        with InvokeApi(function, before_invoke=outage.before_invoke) as api:
            yield api
    finally:
        outage.end()
        function.close()


@pytest.fixture(scope="module")
def interpreter(invoke_api):
    """aws-local-stepfunctions, one node process for the module's executions."""
    with asl.Interpreter(invoke_api) as interpreter:
        yield interpreter


@pytest.fixture(autouse=True)
def _no_outage_left(outage):
    yield
    outage.end()


def s3_put_event(key: str) -> dict:
    """SAM CLI's S3 put event for an object of the stage's bucket (the key as S3 encodes it)."""
    from urllib.parse import quote

    event = json.loads(S3_PUT.read_text())
    event["Records"][0]["s3"]["object"]["key"] = quote(key)
    return event


def drop_list(aws: str, database, rows: list[str]) -> tuple[str, dict]:
    """Put a CSV under inbox/<organization>/ as an SFTP drop would; the S3 event for it."""
    [(organization,)] = database.query(
        "SELECT id FROM payments_organization WHERE name = ?", DEMO_ORGANIZATION
    )
    key = f"inbox/{organization}/asl {uuid.uuid4().hex[:8]}.csv"
    moto_stack.client("s3", aws).put_object(
        Bucket=runtime.DEV_BUCKET, Key=key, Body=(HEADER + "".join(rows)).encode()
    )
    return key, s3_put_event(key)


def executions(aws: str) -> dict[str, dict]:
    """The executions the function started in moto's Step Functions: arn -> input."""
    states = moto_stack.client("stepfunctions", aws)
    listed = states.list_executions(stateMachineArn=runtime.DEV_STATE_MACHINE_ARN)
    return {
        e["executionArn"]: json.loads(
            states.describe_execution(executionArn=e["executionArn"])["input"]
        )
        for e in listed["executions"]
    }


def trigger(invoke_api: InvokeApi, aws: str, event: dict) -> list[dict]:
    """Hand the S3 event to the function: the inputs of the executions it started."""
    before = executions(aws)
    answer = invoke_api.invoke("wildrydes-dev", copy.deepcopy(event))
    assert "error" not in answer, answer
    return [state_input for arn, state_input in executions(aws).items() if arn not in before]


def list_row(database, list_id: int) -> dict:
    [(status, failed_step, reason)] = database.query(
        "SELECT status, failed_step, failure_reason FROM payments_paymentlist WHERE id = ?",
        list_id,
    )
    return {"status": status, "failed_step": failed_step, "failure_reason": reason}


def payments_of(database, prefix: str) -> list[tuple]:
    return database.query(
        "SELECT reference, amount_minor, currency FROM payments_payment "
        "WHERE reference LIKE ? ORDER BY reference",
        f"{prefix}%",
    )


def registered_events_of(database, prefix: str) -> list[str]:
    return sorted(
        reference
        for (reference,) in database.query(
            "SELECT data->>'reference' FROM events_outboxevent "
            "WHERE type = 'payments.PaymentRegistered' AND data->>'reference' LIKE ?",
            f"{prefix}%",
        )
    )


def test_asl_validator_accepts_the_generated_definition(definition_file):
    run = asl.validate(definition_file)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "is valid" in run.stdout


def test_asl_validator_refuses_a_broken_definition(definition_file, tmp_path):
    """The validator really validates: a Next to a state that does not exist."""
    broken = json.loads(definition_file.read_text())
    broken["States"]["RegisterList"]["Next"] = "NoSuchState"
    path = tmp_path / "broken.asl.json"
    path.write_text(json.dumps(broken))
    run = asl.validate(path)
    assert run.returncode != 0
    assert "NoSuchState" in run.stdout + run.stderr


def test_good_list_is_imported_and_a_repeated_s3_event_changes_nothing(
    definition_file, invoke_api, interpreter, aws, database
):
    prefix = f"ASL-{uuid.uuid4().hex[:6]}-"
    rows = [
        f"{prefix}1,payer1@example.com,12.50,USD,\n",
        f"{prefix}2,payer2@example.com,7.25,EUR,\n",
    ]
    _, event = drop_list(aws, database, rows)
    [started] = trigger(invoke_api, aws, event)
    list_id = started["payment_list_id"]

    execution = interpreter.run(definition_file, started)

    assert execution["status"] == "SUCCEEDED", execution
    entered = asl.states_entered(execution)
    assert entered[:4] == ["RegisterList", "ValidateList", "VerifySubscription", "ImportList"]
    assert entered[-1] == "Imported"
    assert "CompensateError" not in entered
    assert asl.event_types(execution)[-1] == "ExecutionSucceeded"
    assert list_row(database, list_id)["status"] == "imported"
    assert payments_of(database, prefix) == [
        (f"{prefix}1", 1250, "USD"),
        (f"{prefix}2", 725, "EUR"),
    ]
    assert registered_events_of(database, prefix) == [f"{prefix}1", f"{prefix}2"]

    # S3 delivers the same event again (at least once): whatever it starts changes nothing.
    for again in trigger(invoke_api, aws, event):
        assert again["payment_list_id"] == list_id
        repeat = interpreter.run(definition_file, again)
        assert "CompensateError" not in asl.states_entered(repeat), repeat
        assert repeat["status"] == "SUCCEEDED", repeat
    assert list_row(database, list_id)["status"] == "imported"
    assert len(payments_of(database, prefix)) == 2
    assert registered_events_of(database, prefix) == [f"{prefix}1", f"{prefix}2"]


def test_bad_list_is_compensated_and_fails_with_its_reason(
    definition_file, invoke_api, interpreter, aws, database
):
    prefix = f"ASL-{uuid.uuid4().hex[:6]}-"
    rows = [f"{prefix}1,payer1@example.com,12.50,USD,\n", f"{prefix}2,payer2@example.com,-3,XXX,\n"]
    _, event = drop_list(aws, database, rows)
    [started] = trigger(invoke_api, aws, event)
    list_id = started["payment_list_id"]

    execution = interpreter.run(definition_file, started)

    assert execution["status"] == "FAILED"
    assert asl.states_entered(execution)[-2:] == ["CompensateError", "ListFailed"]
    assert "ImportList" not in asl.states_entered(execution)
    failed = execution["events"][-1]
    assert (failed["type"], failed["Error"]) == ("ExecutionFailed", "PaymentListFailed")
    row = list_row(database, list_id)
    assert (row["status"], row["failed_step"]) == ("failed", "ValidateList")
    assert payments_of(database, prefix) == []
    assert registered_events_of(database, prefix) == []


def test_database_outage_during_the_import_is_retried_then_compensated(
    definition_file, invoke_api, interpreter, aws, database, outage
):
    prefix = f"ASL-{uuid.uuid4().hex[:6]}-"
    rows = [
        f"{prefix}1,payer1@example.com,12.50,USD,\n",
        f"{prefix}2,payer2@example.com,7.25,EUR,\n",
    ]
    _, event = drop_list(aws, database, rows)
    [started] = trigger(invoke_api, aws, event)
    list_id = started["payment_list_id"]
    outage.during = "ImportList"
    calls_before = len(invoke_api.invocations)

    execution = interpreter.run(definition_file, started)

    calls = invoke_api.invocations[calls_before:]
    imports = [i["answer"] for i in calls if i["event"].get("step") == "ImportList"]
    definition = json.loads(definition_file.read_text())
    [retry] = [
        r
        for r in definition["States"]["ImportList"]["Retry"]
        if "DatabaseUnavailable" in r["ErrorEquals"]
    ]
    assert len(imports) == 1 + retry["MaxAttempts"]  # the first try and every retry
    assert {a["error"]["errorType"] for a in imports} == {"DatabaseUnavailable"}
    retried = [e for e in execution["events"] if e["type"] == "StateRetried"]
    assert len(retried) == retry["MaxAttempts"]

    assert execution["status"] == "FAILED"
    assert asl.states_entered(execution)[-2:] == ["CompensateError", "ListFailed"]
    row = list_row(database, list_id)
    assert (row["status"], row["failed_step"]) == ("failed", "ImportList")
    assert "database could not be reached" in row["failure_reason"]
    assert payments_of(database, prefix) == []  # nothing half imported
    assert registered_events_of(database, prefix) == []


def test_interpreters_own_lambda_call_reaches_the_package(
    definition_file, invoke_api, interpreter, aws, database
):
    prefix = f"ASL-{uuid.uuid4().hex[:6]}-"
    _, event = drop_list(aws, database, [f"{prefix}1,payer1@example.com,3.00,USD,\n"])
    [started] = trigger(invoke_api, aws, event)
    calls_before = len(invoke_api.invocations)

    execution = interpreter.run(definition_file, started, tasks="interpreter")

    assert execution["status"] == "SUCCEEDED", execution
    steps = [i["event"].get("step") for i in invoke_api.invocations[calls_before:]]
    assert steps[:4] == ["RegisterList", "ValidateList", "VerifySubscription", "ImportList"]
    assert list_row(database, started["payment_list_id"])["status"] == "imported"
    assert payments_of(database, prefix) == [(f"{prefix}1", 300, "USD")]
