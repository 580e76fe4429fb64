"""One command per stage: `make deploy STAGE=<name>`, `make destroy`, `make rollback`.

    python deploy/stage.py deploy STAGE [--canary PERCENT] [--bake-minutes N]
    python deploy/stage.py rollback STAGE
    python deploy/stage.py destroy STAGE [--yes]    # asks for the stage's name without --yes
    python deploy/stage.py settings STAGE [--offline]   # print the stage's Zappa settings
    python deploy/stage.py operator STAGE --email ADDRESS  # the first operator (asks a password)
    python deploy/stage.py manage STAGE "COMMAND"   # a management command inside the function
    python deploy/stage.py invoke STAGE FUNCTION    # e.g. events.aws.relay_on_schedule
    python deploy/stage.py unlock STAGE [--yes]     # remove a stopped command's lock

Each command that changes a stage holds its lock (DeployLock), renewed while it works; one
left by a command that stopped without releasing it lapses and is taken over.

Credentials and region come from the environment, as the AWS CLI takes them (AWS_PROFILE,
AWS_ACCESS_KEY_ID..., AWS_REGION or AWS_DEFAULT_REGION; AWS_ENDPOINT_URL for an emulator).

deploy:
 1. creates or updates the stage's own stack, `wildrydes-<stage>-infra`, from
    deploy/infrastructure.yaml (never `wildrydes-<stage>`: that is the stack Zappa names
    after the function for its API Gateway);
 2. renders the stage's Zappa settings, build/zappa_settings.<stage>.json, from
    zappa_settings.json ("base": what every stage shares) plus the caller's account and
    region and the stack's outputs: ARNs, bucket and queue names, subnets, the proxy's
    endpoint, the ARNs of the secrets (never the secrets: the function reads them from
    Secrets Manager when it starts);
 3. packages (deploy/package.sh with those settings: the zip is rebuilt only when one of its
    inputs or the settings changed) and runs `zappa deploy` the first time,
    `zappa update` after;
 4. applies what Zappa cannot set: partial batch responses on the SQS event sources, the
    reserved concurrency the database proxy can serve, API Gateway's own answers (a page or
    {"detail": ...} instead of {"message": "Internal server error"}: apply_gateway_responses);
 5. migrates (`zappa manage`, i.e. inside the function) and collects the static files to the
    stage's bucket from this machine (the zip carries none: collect_static), unless they
    were collected from the same inputs (collect_static_if_changed);
 6. points the `live` alias (what API Gateway invokes) at the new version, checks
    /api/health/ through it, and, with --canary, first sends only PERCENT of the requests to
    the new version for --bake-minutes while watching the stage's alarms: promoted if they
    stay quiet, rolled back if one fires;
 7. prints the stage's URL.
"""

import argparse
import datetime
import functools
import hashlib
import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "deploy"))

import partial_batch_responses  # noqa: E402

APP = "wildrydes"
TEMPLATE = ROOT / "deploy" / "infrastructure.yaml"
BASE_SETTINGS = ROOT / "zappa_settings.json"
ALIAS = "live"  # zappa_settings "apigateway_lambda_qualifier"
LAMBDA_VENV = ROOT / ".venv-lambda"
# Lambda keeps this much of the account's concurrency unreserved; reserving more fails.
UNRESERVED_MINIMUM = 100
OFFLINE_ACCOUNT = "123456789012"  # `settings --offline` (package tests): no AWS call
# The template's Stage parameter (AllowedPattern; a test keeps them equal): 20 characters
# keep every name AWS limits in length, e.g. the buckets' wildrydes-<stage>-files-<account>.
STAGE_NAME = r"[a-z][a-z0-9]{0,19}"
DEPLOY_LOCK = "deploy.lock"  # in the stage's Zappa bucket, while a `make deploy` runs


def stack_name(stage: str) -> str:
    return f"{APP}-{stage}-infra"


def function_name(stage: str) -> str:
    return f"{APP}-{stage}"


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


# --- AWS ----------------------------------------------------------------------------


def session():
    import boto3

    # boto3 reads AWS_DEFAULT_REGION and the profile's region, not AWS_REGION, which the AWS
    # CLI v2, the other SDKs and docs/deploy.md use.
    current = boto3.session.Session(region_name=os.environ.get("AWS_REGION") or None)
    if not current.region_name:
        raise SystemExit(
            "No AWS region: set AWS_REGION (e.g. export AWS_REGION=us-east-1), or give your "
            "AWS_PROFILE a region."
        )
    return current


def account_of(aws) -> str:
    return aws.client("sts").get_caller_identity()["Account"]


def stack_outputs(aws, stage: str) -> dict:
    cloudformation = aws.client("cloudformation")
    if not stack_exists(cloudformation, stack_name(stage)):
        raise SystemExit(no_stage_here(aws, stage))
    [stack] = cloudformation.describe_stacks(StackName=stack_name(stage))["Stacks"]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def stack_status(cloudformation, name: str) -> str | None:
    """The stack's status, None if there is none (or it was deleted)."""
    from botocore.exceptions import ClientError

    try:
        [stack] = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise
    return None if stack["StackStatus"] == "DELETE_COMPLETE" else stack["StackStatus"]


def stack_exists(cloudformation, name: str) -> bool:
    return stack_status(cloudformation, name) is not None


def ensure_stack(aws, stage: str, parameters: dict) -> None:
    """Create or update wildrydes-<stage>-infra and wait until it is done."""
    from botocore.exceptions import ClientError

    cloudformation = aws.client("cloudformation")
    name = stack_name(stage)
    arguments = {
        "StackName": name,
        "TemplateBody": TEMPLATE.read_text(),
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        "Capabilities": ["CAPABILITY_NAMED_IAM"],
        "Tags": [{"Key": "project", "Value": APP}, {"Key": "stage", "Value": stage}],
    }
    status = refuse_if_changing(cloudformation, stage)
    if status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED"):
        raise SystemExit(
            f"The stack {name} was never created ({status}): the Events tab of the stack in the"
            f" CloudFormation console says which resource failed and why. Remove it with `make"
            f" destroy STAGE={stage} CONFIRM={stage}`, fix the cause, then deploy again."
        )
    if status is None:
        say(f"creating the stack {name} (a database and its proxy: 15-25 minutes)")
        try:
            cloudformation.create_stack(**arguments, OnFailure="ROLLBACK")
        except cloudformation.exceptions.AlreadyExistsException:
            raise SystemExit(
                f"The stack {name} is being created by another `make deploy STAGE={stage}`:"
                " wait until it is done, then run this again."
            ) from None
        waiter = "stack_create_complete"
    else:
        say(f"updating the stack {name}")
        try:
            cloudformation.update_stack(**arguments)
        except ClientError as error:
            if "No updates are to be performed" not in str(error):
                raise
            say(f"{name} is up to date")
            return
        waiter = "stack_update_complete"
    wait_for_stack(cloudformation, name, waiter)


def refuse_if_changing(cloudformation, stage: str) -> str | None:
    """The stack's status; a sentence if another deploy or a destroy is changing it."""
    name = stack_name(stage)
    status = stack_status(cloudformation, name)
    if status and status.endswith("_IN_PROGRESS"):
        raise SystemExit(
            f"The stack {name} is {status}: another `make deploy` or `make destroy` of {stage}"
            " is changing it. Wait until it is done (the CloudFormation console shows it), then"
            " run this again."
        )
    return status


def wait_for_stack(cloudformation, name: str, waiter: str) -> None:
    """Until the stack is done: at once if it already is, then every 15 s (up to an hour)."""
    [stack] = cloudformation.describe_stacks(StackName=name)["Stacks"]
    if stack["StackStatus"].endswith("_COMPLETE") and "ROLLBACK" not in stack["StackStatus"]:
        return
    from botocore.exceptions import WaiterError

    try:
        cloudformation.get_waiter(waiter).wait(
            StackName=name, WaiterConfig={"Delay": 15, "MaxAttempts": 240}
        )
    except WaiterError:
        raise SystemExit(
            f"The stack {name} did not finish ({stack_status(cloudformation, name)}): the Events"
            " tab of the stack in the CloudFormation console says which resource failed and"
            " why. Fix that, then run this again."
        ) from None


# --- Zappa settings -----------------------------------------------------------------


def render_settings(stage: str, account: str, region: str, outputs: dict | None) -> dict:
    """The stage's Zappa settings: the shared base plus what the account and the stack name.

    outputs None (offline): only what follows from the names, for the package tests."""
    base = json.loads(BASE_SETTINGS.read_text())["base"]
    settings = json.loads(json.dumps(base))
    prefix = f"{APP}-{stage}"
    arn = f"arn:aws:{{}}:{region}:{account}:{{}}"
    files = f"{prefix}-files-{account}"
    state_machine = arn.format("states", f"stateMachine:{prefix}-payment-list")
    settings.update(
        {
            "aws_region": region,
            "s3_bucket": f"{prefix}-zappa-{account}",
            "lambda_description": f"Wild Rydes ({stage})",
            "role_name": f"{prefix}-lambda",
            "tags": {**settings.get("tags", {}), "stage": stage},
        }
    )
    environment = settings.setdefault("environment_variables", {})
    environment.update(
        {
            "WILDRYDES_STAGE": stage,
            "AWS_STORAGE_BUCKET_NAME": files,
            "EVENTS_SNS_TOPIC_ARN": arn.format("sns", f"{prefix}-events"),
            "PAYMENT_LIST_STATE_MACHINE_ARN": state_machine,
        }
    )
    events = []
    for event in settings.pop("events_template"):
        event = json.loads(json.dumps(event).replace("{files}", files))
        queue = event.get("event_source", {}).pop("queue", None)
        if queue:
            event["event_source"]["arn"] = arn.format("sqs", f"{prefix}-events-{queue}")
        events.append(event)
    settings["events"] = events
    if outputs is not None:
        if outputs["FilesBucketName"] != files or outputs["PaymentListStateMachineArn"] != (
            state_machine
        ):
            raise SystemExit(f"The stack's names are not the ones expected: {outputs}")
        settings["s3_bucket"] = outputs["DeploymentBucketName"]
        settings["vpc_config"] = {
            "SubnetIds": outputs["FunctionSubnetIds"].split(","),
            "SecurityGroupIds": [outputs["FunctionSecurityGroupId"]],
        }
        environment.update(
            {
                # No credentials in the URL: the function reads them from the secret.
                # (PostgreSQL's port, 5432, is libpq's default.)
                "DATABASE_URL": (
                    f"postgres://{outputs['DatabaseProxyEndpoint']}/"
                    f"{outputs['DatabaseName']}?sslmode=require"
                ),
                "DATABASE_SECRET_ARN": outputs["DatabaseSecretArn"],
                "DATABASE_POOLER": "rds-proxy",
                "DJANGO_SECRET_ARN": outputs["DjangoSecretArn"],
            }
        )
    return {stage: settings}


def write_settings(stage: str, rendered: dict) -> Path:
    path = ROOT / "build" / f"zappa_settings.{stage}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(rendered, indent=4) + "\n")
    return path


# --- steps --------------------------------------------------------------------------


def run(*command: str, env: dict | None = None, echo: bool = True) -> None:
    say(" ".join(command) if echo else f"{command[0]} {command[1]} ...")
    subprocess.run(  # noqa: S603
        dies_with_this_command(command), cwd=ROOT, check=True, env={**os.environ, **(env or {})}
    )


# util-linux's setpriv: on Linux, the child gets SIGKILL when this command dies.
SETPRIV = shutil.which("setpriv")


def dies_with_this_command(command) -> list[str]:
    """`command`, set to be killed with this command where the system can (Linux).

    A `kill -9` of a command ends its lock's renewal, and the lock lapses; a zappa it had
    started would go on changing the stage while the next command takes the lock over. The
    parent-death signal is the kernel's, so it holds for `kill -9` too. Elsewhere (macOS)
    the child lives on, as it always did there, and so it does where setpriv predates
    `--pdeathsig` (util-linux before 2.33: Amazon Linux 2, Ubuntu 18.04). (`subprocess`'s
    preexec_fn could set it too, but is not safe beside the lock's heartbeat thread.)"""
    if SETPRIV is None or not _has_pdeathsig(SETPRIV):
        return list(command)
    return [SETPRIV, "--pdeathsig", "KILL", "--", *command]


@functools.cache
def _has_pdeathsig(setpriv: str) -> bool:
    """Whether this setpriv takes `--pdeathsig`, asked once (an older one refuses it, exit 1,
    and every step would fail with it); said when it does not."""
    probe = [setpriv, "--pdeathsig", "KILL", "--", sys.executable, "-c", ""]
    if subprocess.run(probe, capture_output=True, check=False).returncode == 0:  # noqa: S603
        return True
    say(f"{setpriv} takes no --pdeathsig: a step outlives this command if it is killed")
    return False


def zappa(*arguments: str, settings_file: Path, echo: bool = True) -> None:
    executable = LAMBDA_VENV / "bin" / "zappa"
    run(str(executable), *arguments, "-s", str(settings_file), echo=echo)


# Folders whose changes cannot change the zip (besides hidden ones: .git, .venv*, caches).
# test-artifacts: the browser tests write there while the package tests run; counted, it
# made the next package module rebuild the zip (twice in a `make test`, ~7 s CPU each).
NOT_PACKAGED = {
    "tests", "docs", "bench", "load", "build", "dist", "media", "staticfiles", "test-artifacts",
    "__pycache__",
}  # fmt: skip


def project_files(root: Path | None = None):
    """Every file of the checkout a package or a static-file collection is made from: not the
    hidden folders (.git, .venv*), NOT_PACKAGED, bytecode, Markdown or SQLite files."""
    for folder, subfolders, files in os.walk(root or ROOT):
        subfolders[:] = [d for d in subfolders if not d.startswith(".") and d not in NOT_PACKAGED]
        for name in files:
            if not (name.startswith(".") or name.endswith((".pyc", ".md")) or ".sqlite3" in name):
                yield Path(folder) / name


def digest_of_files(digest, paths) -> None:
    """Adds each file's name (relative to the checkout) and contents to `digest`."""
    for path in paths:
        name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
        digest.update(f"{name}\0{sha256_of(path)}\0".encode())


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def package_inputs(settings_file: Path) -> str:
    """What a zip is built from, by name and contents: the lock (.venv-lambda is installed
    from it), the Zappa settings and every project file (deploy/package.sh and
    finish_package.py among them). A file added, changed or removed changes it; a checkout
    that only touches files does not (about 10 ms for the ~280 files)."""
    digest = hashlib.sha256(sha256_of(settings_file).encode())
    digest_of_files(digest, [ROOT / "requirements" / "deploy.txt", *sorted(project_files())])
    return digest.hexdigest()


def inputs_stamp(zip_file: Path) -> Path:
    return zip_file.with_name(f".{zip_file.name}.inputs-sha256")


def package_is_fresh(zip_file: Path, settings_file: Path) -> bool:
    """deploy/package.sh rebuilds the zip unless it was built from these same inputs (their
    digest, recorded next to it by record_package_inputs)."""
    stamp = inputs_stamp(zip_file)
    return (
        zip_file.exists()
        and stamp.exists()
        and stamp.read_text().strip() == package_inputs(settings_file)
    )


def forget_package_inputs(zip_file: Path) -> None:
    """Before a build: a build that fails leaves no zip paired with a digest."""
    inputs_stamp(zip_file).unlink(missing_ok=True)


def record_package_inputs(zip_file: Path, settings_file: Path) -> None:
    """After a build: the digest of what the zip was built from."""
    inputs_stamp(zip_file).write_text(package_inputs(settings_file) + "\n")


def package(stage: str, settings_file: Path) -> Path:
    run("bash", "deploy/package.sh", stage, env={"ZAPPA_SETTINGS_FILE": str(settings_file)})
    return ROOT / "build" / f"{APP}-{stage}.zip"


def function_exists(lam, name: str) -> bool:
    try:
        lam.get_function(FunctionName=name)
    except lam.exceptions.ResourceNotFoundException:
        return False
    return True


def newest_version(lam, name: str) -> str:
    versions = []
    for page in lam.get_paginator("list_versions_by_function").paginate(FunctionName=name):
        versions += [int(v["Version"]) for v in page["Versions"] if v["Version"] != "$LATEST"]
    if not versions:
        raise SystemExit(f"{name} has no published version")
    return str(max(versions))


def current_alias(lam, name: str) -> dict | None:
    try:
        return lam.get_alias(FunctionName=name, Name=ALIAS)
    except lam.exceptions.ResourceNotFoundException:
        return None


def point_alias(
    lam,
    name: str,
    version: str,
    canary: tuple[str, float] | None = None,
    served_before: list[str] | None = None,
) -> None:
    """The alias on `version` (and `canary`); `served_before`, when given, is written to its
    description: the versions it served before this one, the last most recently."""
    routing = {"AdditionalVersionWeights": dict([canary]) if canary else {}}
    described = {}
    if served_before is not None:
        described["Description"] = f"served before: {' '.join(served_before[-30:])}".strip()
    if current_alias(lam, name) is None:
        lam.create_alias(FunctionName=name, Name=ALIAS, FunctionVersion=version, **described)
    else:
        lam.update_alias(
            FunctionName=name,
            Name=ALIAS,
            FunctionVersion=version,
            RoutingConfig=routing,
            **described,
        )


def served_before(alias: dict | None) -> list[str] | None:
    """The versions the alias served before its current one, the last most recently (what
    `make rollback` goes back to); None for an alias deployed before this was recorded."""
    found = re.fullmatch(r"served before:([\d ]*)", (alias or {}).get("Description", ""))
    return found.group(1).split() if found else None


def promote(lam, name: str, version: str) -> None:
    """The alias on `version` alone, the version it served pushed onto its history."""
    alias = current_alias(lam, name)
    history = served_before(alias) or []
    previous = (alias or {}).get("FunctionVersion")
    if previous and previous != version:
        history = [v for v in history if v != version] + [previous]
    point_alias(lam, name, version, served_before=history)


def account_concurrency_limit(lam) -> int:
    return lam.get_account_settings()["AccountLimit"]["ConcurrentExecutions"]


def reserve_concurrency(aws, name: str, wanted: int) -> None:
    """The proxy's budget, or less on an account whose limit leaves no room to reserve."""
    lam = aws.client("lambda")
    limit = account_concurrency_limit(lam)
    current = lam.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions")
    room = limit - UNRESERVED_MINIMUM + (current or 0)
    if room < 1:
        say(
            f"account concurrency limit {limit}: nothing can be reserved; the limit itself "
            f"keeps {name} under the database proxy's budget of {wanted}"
        )
        return
    reserved = min(wanted, room)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=reserved)
    say(f"{name}: reserved concurrency {reserved} (the proxy serves {wanted})")


def health_event(stage: str, region: str) -> dict:
    host = f"health-check.execute-api.{region}.amazonaws.com"
    return {
        "resource": "/{proxy+}",
        "path": "/api/health/",
        "httpMethod": "GET",
        "headers": {"Host": host, "Accept": "application/json", "X-Forwarded-Proto": "https"},
        "multiValueHeaders": {"Host": [host], "Accept": ["application/json"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": "api/health/"},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": "GET",
            "path": f"/{stage}/api/health/",
            "stage": stage,
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "wildrydes-deploy"},
            "domainName": host,
        },
        "body": None,
        "isBase64Encoded": False,
    }


def check_health(lam, stage: str, region: str, qualifier: str) -> None:
    """GET /api/health/ through the alias, as API Gateway would call it."""
    answer = lam.invoke(
        FunctionName=function_name(stage),
        Qualifier=qualifier,
        Payload=json.dumps(health_event(stage, region)).encode(),
    )
    payload = json.loads(answer["Payload"].read() or b"null") or {}
    status = payload.get("statusCode")
    if answer.get("FunctionError") or status != 200:
        said = (
            f"{payload.get('errorType')}: {payload.get('errorMessage')}"
            if answer.get("FunctionError")
            else f"{status} {str(payload.get('body'))[:300]}"
        )
        raise SystemExit(
            f"Version {qualifier} of {function_name(stage)} failed its health check"
            f" (/api/health/: {said}), so `{ALIAS}` stays where it was. Its log says why:"
            f" CloudWatch, log group /aws/lambda/{function_name(stage)}. Fix it and deploy again."
        )
    say(f"/api/health/ through {qualifier}: 200 {payload.get('body')}")


def firing_alarms(aws, stage: str) -> list[str]:
    cloudwatch = aws.client("cloudwatch")
    alarms = cloudwatch.describe_alarms(AlarmNamePrefix=f"{APP}-{stage}-", StateValue="ALARM")
    return [a["AlarmName"] for a in alarms["MetricAlarms"] if a["StateValue"] == "ALARM"]


def bake(
    aws, stage: str, previous: str, version: str, percent: int, minutes: float, poll: float
) -> bool:
    """A canary: `percent` of the requests to `version` for `minutes`, the rest to
    `previous`, while the stage's alarms are watched. True: promote. False: an alarm fired,
    and the alias is back on `previous` alone. Interrupted (Ctrl-C, SIGTERM): back on
    `previous` alone too, as `make rollback` could not do it meanwhile (the lock)."""
    lam = aws.client("lambda")
    name = function_name(stage)
    say(f"canary: {percent}% of requests to version {version}, the rest to {previous}")
    point_alias(lam, name, previous, (version, percent / 100))
    try:
        return watch_alarms(aws, stage, previous, version, minutes, poll)
    except KeyboardInterrupt:
        point_alias(lam, name, previous)
        say(f"canary interrupted: all requests back on version {previous}")
        raise


def watch_alarms(aws, stage, previous, version, minutes, poll) -> bool:
    lam, name = aws.client("lambda"), function_name(stage)
    deadline = time.monotonic() + minutes * 60
    while True:
        firing = firing_alarms(aws, stage)
        if firing:
            point_alias(lam, name, previous)
            say(f"ROLLED BACK to version {previous}: alarms {', '.join(firing)}")
            return False
        if time.monotonic() >= deadline:
            break
        time.sleep(min(poll, max(0.0, deadline - time.monotonic())))
    say(f"canary baked {minutes} min with no alarm: promoting version {version}")
    return True


def api_url(aws, stage: str) -> str:
    cloudformation = aws.client("cloudformation")
    resource = cloudformation.describe_stack_resource(
        StackName=function_name(stage), LogicalResourceId="Api"
    )["StackResourceDetail"]
    return (
        f"https://{resource['PhysicalResourceId']}.execute-api.{aws.region_name}"
        f".amazonaws.com/{stage}"
    )


def wait_until_updated(lam, name: str) -> None:
    """Until the function's last configuration or code update is applied (Lambda refuses
    another one meanwhile): at once when it is, then every second (up to 5 minutes)."""
    for _ in range(300):
        status = lam.get_function_configuration(FunctionName=name).get("LastUpdateStatus")
        if status != "InProgress":
            return
        time.sleep(1)


def record_site_url(aws, stage: str, rendered: dict) -> None:
    """SITE_URL, the site's address in e-mails (the receipt's link), in the function's
    configuration: the stage's API Gateway URL with its stage, known once Zappa made the API.

    Not in the Zappa settings: they are baked into the zip, and the zip's inputs would change
    after the first deploy (a rebuild for nothing). Zappa's `update` keeps a variable it
    does not set. A stage whose settings name a custom domain or a SITE_URL keeps its own.
    The first deploy publishes one more version with it, the version `live` is moved to."""
    baked = rendered.get("environment_variables", {})
    if baked.get("SITE_URL") or baked.get("WILDRYDES_CUSTOM_DOMAIN"):
        return
    lam, name = aws.client("lambda"), function_name(stage)
    url = api_url(aws, stage)
    variables = lam.get_function_configuration(FunctionName=name).get("Environment", {})
    variables = variables.get("Variables", {})
    if variables.get("WILDRYDES_CUSTOM_DOMAIN") or variables.get("SITE_URL") == url:
        return
    if variables.get("SITE_URL"):  # set by hand (aws lambda update-function-configuration)
        say(f"SITE_URL stays {variables['SITE_URL']} (the stage's API is at {url})")
        return
    wait_until_updated(lam, name)
    lam.update_function_configuration(
        FunctionName=name, Environment={"Variables": {**variables, "SITE_URL": url}}
    )
    wait_until_updated(lam, name)
    version = lam.publish_version(FunctionName=name)["Version"]
    say(f"SITE_URL={url} (the receipt e-mail's links), version {version}")


# --- API Gateway's own answers ----------------------------------------------------------
#
# When API Gateway answers instead of the function (502 "Internal server error" when it
# crashed, 504 "Endpoint request timed out", 429 when the stage is throttled, 403 "Missing
# Authentication Token" for a path the API has no route for), its body is {"message": ...}.
# Each of those gateway responses gets two templates, keyed by content type:
# - application/json: {"detail": "<a sentence>"}, the API's own error shape (what
#   frontend/static/frontend/js/api.js shows as it is), for the pages' fetch() calls (they
#   send Accept: application/json) and the API's other callers;
# - text/html: a small page with the same sentence and a link home (no script, nothing
#   fetched from elsewhere), for a browser loading a page (Accept: text/html, ...).
# Which one API Gateway answers with, AWS documents for its (VTL) mapping templates only:
# the one keyed by the request's Accept header (its MIME type; a header listing several:
# "API Gateway only honors the first Accept media type", says its binary-support page),
# application/json without an Accept header, the first template when none matches. The
# gateway responses' templates are keyed by content type too, but their pages say neither
# how one is chosen nor that the answer's Content-Type follows it; the one documented way
# to set it is responseParameters, one value per response type. So every one of these
# answers says Content-Type: text/html, whichever body: a browser shows the page (or, if
# API Gateway picked the JSON one, the sentence in it), and the pages' JavaScript parses the
# body whatever its Content-Type (api.js readJson). docs/deploy.md, "API Gateway's own
# answers".
GATEWAY_TROUBLE = "Wild Rydes is having trouble right now. Please try again in a moment."
GATEWAY_BUSY = "Wild Rydes is very busy right now. Please try again in a moment."
GATEWAY_REFUSED = "Wild Rydes could not take this request. Please start again from the home page."
GATEWAY_NO_PAGE = "There is no page at this address on Wild Rydes."
# response type -> (status it answers with, None: API Gateway's own; the sentence)
GATEWAY_RESPONSES = {
    "DEFAULT_5XX": (None, GATEWAY_TROUBLE),  # 502, 504, 500: the function failed or is slow
    "DEFAULT_4XX": (None, GATEWAY_REFUSED),
    "THROTTLED": (None, GATEWAY_BUSY),  # 429
    "QUOTA_EXCEEDED": (None, GATEWAY_BUSY),  # 429
    "MISSING_AUTHENTICATION_TOKEN": ("404", GATEWAY_NO_PAGE),  # a path with no route: 403
}
GATEWAY_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Wild Rydes</title>
<style>
body{{margin:0;font:18px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:#2a1840;background:#fffafc}}
main{{max-width:32rem;margin:15vh auto 0;padding:0 1.5rem}}
h1{{font-size:1.5rem;margin:0 0 .75rem}}
a{{color:#9e1249;font-weight:600}}
</style>
</head>
<body>
<main>
<h1>Wild Rydes</h1>
<p>{sentence}</p>
<p><a href="{home}">Go to the Wild Rydes home page</a></p>
</main>
</body>
</html>
"""


def gateway_responses(home: str) -> dict:
    """What each of API Gateway's own answers says (put_gateway_response's arguments)."""
    import html

    # Gateway response templates substitute $context... and $stageVariables...: no "$" here.
    home = html.escape(home.replace("$", "%24"), quote=True)
    wanted = {}
    for response_type, (status, sentence) in GATEWAY_RESPONSES.items():
        response = {
            "responseParameters": {
                "gatewayresponse.header.Content-Type": "'text/html; charset=utf-8'",
                "gatewayresponse.header.Cache-Control": "'no-store'",
                "gatewayresponse.header.X-Content-Type-Options": "'nosniff'",
            },
            "responseTemplates": {
                "application/json": json.dumps({"detail": sentence}),
                "text/html": GATEWAY_PAGE.format(sentence=html.escape(sentence), home=home),
            },
        }
        if status:
            response["statusCode"] = status
        wanted[response_type] = response
    return wanted


def site_url(aws, stage: str, baked: dict) -> str:
    """The stage's home page: its SITE_URL, its custom domain, or its API Gateway URL."""
    lam = aws.client("lambda")
    configured = lam.get_function_configuration(FunctionName=function_name(stage))
    variables = {**configured.get("Environment", {}).get("Variables", {}), **baked}
    if variables.get("SITE_URL"):
        return variables["SITE_URL"].rstrip("/") + "/"
    if variables.get("WILDRYDES_CUSTOM_DOMAIN"):
        return f"https://{variables['WILDRYDES_CUSTOM_DOMAIN']}/"
    return api_url(aws, stage) + "/"


def rendered_environment(settings_file: Path) -> dict:
    [rendered] = json.loads(settings_file.read_text()).values()
    return rendered.get("environment_variables", {})


def rest_api_id(aws, stage: str) -> str:
    """The REST API Zappa's stack made for the stage (its resource `Api`)."""
    cloudformation = aws.client("cloudformation")
    return cloudformation.describe_stack_resource(
        StackName=function_name(stage), LogicalResourceId="Api"
    )["StackResourceDetail"]["PhysicalResourceId"]


def apply_gateway_responses(aws, stage: str, home: str) -> bool:
    """The stage's API answers its own errors as gateway_responses says; a change is deployed
    to the stage (API Gateway serves an API's changes once deployed). Unchanged: nothing is
    written, no deployment. True when something changed."""
    apigateway = aws.client("apigateway")
    api = rest_api_id(aws, stage)
    changed = []
    for response_type, wanted in gateway_responses(home).items():
        try:
            current = apigateway.get_gateway_response(restApiId=api, responseType=response_type)
        except apigateway.exceptions.NotFoundException:
            current = {}
        # (Only a status of ours is compared: AWS may report a type's own status, 429...)
        if all(current.get(key) == value for key, value in wanted.items()):
            continue
        apigateway.put_gateway_response(restApiId=api, responseType=response_type, **wanted)
        changed.append(response_type)
    if not changed:
        return False
    apigateway.create_deployment(
        restApiId=api, stageName=stage, description="Wild Rydes: API Gateway's own answers"
    )
    say(f'API Gateway\'s own answers (a page, or {{"detail": ...}}): {", ".join(changed)}')
    return True


def collect_static(environment: dict, python: Path = LAMBDA_VENV / "bin" / "python") -> None:
    """collectstatic to the stage's bucket, run here with the stage's settings (`environment`:
    its Zappa environment_variables) and the package's own dependencies (.venv-lambda, which
    also holds drf-spectacular-sidecar, the API docs' files). The zip leaves every static
    file out (zappa_settings.json): the function reads only the manifest from the bucket.
    No secret is read: collectstatic needs no database, and its key signs nothing."""
    import secrets

    env = {**os.environ, **environment, "DJANGO_SECRET_KEY": secrets.token_urlsafe(50)}
    for name in ("DJANGO_SECRET_ARN", "DATABASE_SECRET_ARN"):
        env.pop(name, None)
    say("collecting the static files to the stage's bucket")
    command = [str(python), "manage.py", "collectstatic", "--noinput", "-v0"]
    subprocess.run(dies_with_this_command(command), cwd=ROOT, env=env, check=True)  # noqa: S603


STATIC_MANIFEST = "static/staticfiles.json"  # S3ManifestStaticStorage's, location "static"
STATIC_INPUTS = "wildrydes-static-inputs"  # the manifest's metadata: what it was collected from


def static_inputs_fingerprint(environment: dict) -> str:
    """What the collected files depend on: the lock (Django's, the admin's and the API docs'
    files come from .venv-lambda), the settings module, the project's static folders (names
    and contents) and the stage's environment variables."""
    digest = hashlib.sha256(json.dumps(environment, sort_keys=True).encode())
    static = [path for path in sorted(project_files()) if is_static_input(path)]
    digest_of_files(digest, [ROOT / "requirements" / "deploy.txt", *static])
    return digest.hexdigest()


def is_static_input(path: Path) -> bool:
    relative = path.relative_to(ROOT)
    return "static" in relative.parts[:-1] or relative == Path("wildrydes", "settings.py")


def collect_static_if_changed(aws, environment: dict) -> None:
    """collect_static, unless the bucket's manifest was collected from the same inputs. A
    redeploy's collectstatic skips the unchanged originals but still re-uploads every CSS and
    JS file (Django re-processes them on every run): ~420 PUTs of ~480 files, for nothing."""
    from botocore.exceptions import ClientError

    s3 = aws.client("s3")
    bucket = environment["AWS_STORAGE_BUCKET_NAME"]
    wanted = static_inputs_fingerprint(environment)
    try:
        manifest = s3.head_object(Bucket=bucket, Key=STATIC_MANIFEST)
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("404", "NoSuchKey"):
            raise
        manifest = {}
    if manifest.get("Metadata", {}).get(STATIC_INPUTS) == wanted:
        say("static files unchanged since they were collected to the stage's bucket")
        return
    collect_static(environment)
    # The fingerprint goes on the manifest, written last: a collection that fails leaves none.
    manifest = s3.head_object(Bucket=bucket, Key=STATIC_MANIFEST)
    headers = ("ContentType", "CacheControl", "ContentEncoding", "ContentDisposition")
    s3.copy_object(
        Bucket=bucket,
        Key=STATIC_MANIFEST,
        CopySource={"Bucket": bucket, "Key": STATIC_MANIFEST},
        MetadataDirective="REPLACE",
        Metadata={**manifest.get("Metadata", {}), STATIC_INPUTS: wanted},
        **{name: manifest[name] for name in headers if manifest.get(name)},
    )


def user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "someone"


class LockLost(SystemExit):
    """The stage's lock is no longer this command's: it was taken over (it went unrenewed
    past its lapse: this machine asleep or cut off) or removed (`make unlock`)."""


class DeployLock:
    """One command that changes a stage at a time (`make deploy`, `rollback`, `operator`,
    `destroy`, `deploy/stage.py manage`), from any machine: an object in the stage's Zappa
    bucket, written only if there is none (S3's conditional write), removed at the end. It
    names the command holding it, so the one refused says what it waits for.

    Its holder renews it while it works (every tenth of its lapse, a write conditional on the
    ETag of its own last one); a lock unrenewed for longer than its lapse (`ttl_seconds` in
    it, DEPLOY_LOCK_TTL_SECONDS when written, 10 minutes by default) belonged to a command
    that stopped without releasing it (killed, crashed, its machine gone) and the next
    command takes it over, with a write conditional on the ETag it read: of two takers, S3
    lets one write; the other reads the new lock, fresh, and is refused. Ages are S3's own
    (its Date against the object's Last-Modified), never two machines' clocks compared."""

    def __init__(self, aws, stage: str, account: str, command: str = "deploy"):
        self.s3, self.stage, self.command = aws.client("s3"), stage, command
        self.bucket = f"{APP}-{stage}-zappa-{account}"
        self.token = uuid.uuid4().hex
        self.held = False
        self.etag = None  # of this command's last write of the lock
        self.body: dict = {}
        self.lost: LockLost | None = None  # set by a renewal that found the lock not ours
        self.ttl = lock_ttl_seconds()
        self._writing = threading.Lock()  # a renewal at a time (the heartbeat, ensure_held)
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def read(self) -> "LockState | None":
        """The lock as S3 has it (None: there is none), with its age by S3's clock."""
        from botocore.exceptions import ClientError

        try:
            found = self.s3.get_object(Bucket=self.bucket, Key=DEPLOY_LOCK)
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "NoSuchBucket", "404"):
                return None
            raise
        body = found["Body"].read()
        try:
            holder = json.loads(body)
        except (ValueError, RecursionError):  # not JSON, or nested past Python's depth
            holder = {}
        if not isinstance(holder, dict):
            holder = {}
        return LockState(readable_holder(holder), found["ETag"], lock_age(found))

    def holder(self) -> dict | None:
        found = self.read()
        return None if found is None else found.holder

    def busy(self, found: "LockState", doing: str) -> str:
        holder = found.holder
        return (
            f"Another `{running_command(holder)} STAGE={self.stage}` is running: started by"
            f" {holder.get('by', 'someone')} at {holder.get('started', '?')} (pid"
            f" {holder.get('pid', '?')}), last heard from {ago(found.age)}. Wait for it to"
            f" finish, then {doing} again. If it was stopped (killed, its machine off), its"
            f" lock lapses {duration(found.ttl)} after it was last heard from and the next"
            f" command takes it over; to remove it now: make unlock STAGE={self.stage}"
        )

    def acquire(self) -> None:
        """Held from here on; a no-op before the stack made the bucket (its creation is one
        at a time already)."""
        from botocore.exceptions import ClientError

        if self.held:
            return
        self.body = {
            "by": f"{user()}@{socket.gethostname()}",
            "pid": os.getpid(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            "token": self.token,
            "command": self.command,
            "ttl_seconds": self.ttl,
            "renewals": 0,
        }
        found = None
        for _ in range(5):
            try:
                written = self.s3.put_object(
                    Bucket=self.bucket, Key=DEPLOY_LOCK, Body=json.dumps(self.body),
                    IfNoneMatch="*",
                )  # fmt: skip
            except ClientError as error:
                code = error.response["Error"]["Code"]
                if code == "NoSuchBucket":
                    return
                if code not in CONDITION_FAILED:
                    raise
                found = self.read()
                if found is None:  # released between the two calls: try again
                    continue
                if not found.lapsed:
                    raise SystemExit(self.busy(found, "run yours")) from None
                if self.take_over(found):
                    return
                continue  # renewed, or taken by another command meanwhile: read it again
            self.hold(written["ETag"])
            return
        raise SystemExit(self.busy(found or LockState({}, "", 0.0), "run yours"))

    def take_over(self, found: "LockState") -> bool:
        """The lapsed lock `found` replaced by this command's, if S3 still has that very one."""
        from botocore.exceptions import ClientError

        try:
            written = self.s3.put_object(
                Bucket=self.bucket, Key=DEPLOY_LOCK, Body=json.dumps(self.body),
                IfMatch=found.etag,
            )  # fmt: skip
        except ClientError as error:
            if error.response["Error"]["Code"] not in (*CONDITION_FAILED, "NoSuchKey", "404"):
                raise
            return False
        holder = found.holder
        say(
            f"The `{running_command(holder)} STAGE={self.stage}` started by"
            f" {holder.get('by', 'someone')} (pid {holder.get('pid', '?')}) at"
            f" {holder.get('started', '?')} stopped {ago(found.age)} without releasing the"
            " stage; taking it over."
        )
        self.hold(written["ETag"])
        return True

    def hold(self, etag: str) -> None:
        self.held, self.etag, self.lost = True, etag, None
        self._stop.clear()
        self._heartbeat = threading.Thread(target=self._renew_until_stopped, daemon=True)
        self._heartbeat.start()

    def _renew_until_stopped(self) -> None:
        while not self._stop.wait(renewal_interval(self.ttl)):
            try:
                self.renew()
            except LockLost:
                return  # said by ensure_held, at the command's next step
            except Exception:  # noqa: S112 (S3 out of reach a moment: the next one tries)
                continue

    def renew(self) -> None:
        """The lock written again (its age back to 0), only if it is still this command's."""
        from botocore.exceptions import ClientError

        with self._writing:
            if self.lost is not None:
                raise self.lost
            if not self.held:
                return
            body = {**self.body, "renewals": self.body.get("renewals", 0) + 1}
            try:
                written = self.s3.put_object(
                    Bucket=self.bucket, Key=DEPLOY_LOCK, Body=json.dumps(body), IfMatch=self.etag
                )
            except ClientError as error:
                code = error.response["Error"]["Code"]
                if code not in (*CONDITION_FAILED, "NoSuchKey", "404", "NoSuchBucket"):
                    raise
                self.lost = LockLost(self.lost_sentence())
                raise self.lost from None
            self.body, self.etag = body, written["ETag"]

    def lost_sentence(self) -> str:
        found = self.read()
        now = (
            f"`{running_command(found.holder)}` started by {found.holder.get('by', 'someone')}"
            f" holds it now"
            if found
            else "nobody holds it now (removed with `make unlock`)"
        )
        return (
            f"This `{LOCKED_COMMANDS.get(self.command, self.command)} STAGE={self.stage}` lost"
            f" the stage's lock ({now}): it went unrenewed for over {duration(self.ttl)} (this"
            " machine asleep or offline?) or was removed. It stops here; what it did so far"
            f" stays. Check the stage, then run it again."
        )

    def ensure_held(self) -> None:
        """Before a step that changes the stage: the lock renewed now, or the command stops
        (it was taken over meanwhile, or removed)."""
        if self.held:
            self.renew()

    def stop_renewing(self) -> None:
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
            self._heartbeat = None

    def release(self) -> None:
        self.stop_renewing()
        if self.held and self.lost is None and self.etag:
            self.remove(self.etag)  # only its own last write, never a lock that replaced it
        self.held = False

    def remove(self, etag: str) -> bool:
        """The lock deleted if S3 still has the one of this ETag; False if not (renewed,
        taken over, removed). Where S3 has no conditional delete, read and compared first."""
        from botocore.exceptions import ClientError

        try:
            self.s3.delete_object(Bucket=self.bucket, Key=DEPLOY_LOCK, IfMatch=etag)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code in (*CONDITION_FAILED, "NoSuchKey", "404", "NoSuchBucket"):
                return False
            if code != "NotImplemented":
                raise
            found = self.read()
            if found is None or found.etag != etag:
                return False
            self.s3.delete_object(Bucket=self.bucket, Key=DEPLOY_LOCK)
        return True

    def __enter__(self) -> "DeployLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


# S3's answers to a conditional write whose condition does not hold (409: another
# conditional write to the same key at the same moment).
CONDITION_FAILED = ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")
DEFAULT_LOCK_TTL_SECONDS = 600
# A lock without ttl_seconds was written by a deploy/stage.py that did not renew it (or by
# hand): it lapses once longer than any such command could run (a stack's creation is
# waited for up to an hour, then the package, migrations, a canary's bake).
UNRENEWED_LOCK_TTL_SECONDS = 3 * 3600


@dataclass
class LockState:
    holder: dict
    etag: str
    age: float  # seconds since it was last written, by S3's clock

    @property
    def ttl(self) -> float:
        """Its `ttl_seconds`; a lapse no command writes (missing, not a number, 0 or less,
        NaN, infinite: a lock made or edited by hand) counts as UNRENEWED_LOCK_TTL_SECONDS, so it
        neither lapses at once nor stops the sentences that tell it."""
        value = self.holder.get("ttl_seconds")
        try:
            ttl = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError, OverflowError):
            ttl = math.nan
        if not math.isfinite(ttl) or ttl <= 0:
            return float(UNRENEWED_LOCK_TTL_SECONDS)
        return ttl

    @property
    def lapsed(self) -> bool:
        return self.age > self.ttl


def lock_ttl_seconds() -> float:
    """How long a lock may go unrenewed before another command takes it over:
    DEPLOY_LOCK_TTL_SECONDS (the tests shorten it), 10 minutes by default."""
    value = os.environ.get("DEPLOY_LOCK_TTL_SECONDS", "")
    try:
        ttl = float(value) if value else DEFAULT_LOCK_TTL_SECONDS
    except ValueError:
        raise SystemExit(
            f"DEPLOY_LOCK_TTL_SECONDS={value!r} is not a number of seconds (default"
            f" {DEFAULT_LOCK_TTL_SECONDS})."
        ) from None
    if ttl <= 0:
        raise SystemExit("DEPLOY_LOCK_TTL_SECONDS must be more than 0 seconds.")
    return ttl


def renewal_interval(ttl: float) -> float:
    """Nine renewals may be missed (S3 out of reach a moment) before the lock lapses."""
    return ttl / 10


def lock_age(answer: dict) -> float:
    """Seconds since the object was last written, by S3's clock: its Date header against the
    object's Last-Modified (this machine's clock where an answer has no Date)."""
    from email.utils import parsedate_to_datetime

    headers = answer.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    try:
        now = parsedate_to_datetime(headers["date"])
    except (KeyError, TypeError, ValueError):
        now = datetime.datetime.now(datetime.UTC)
    return max(0.0, (now - answer["LastModified"]).total_seconds())


def running_command(holder: dict) -> str:
    # A lock written before it named its command (or by hand) was a deploy's.
    command = holder.get("command")
    return LOCKED_COMMANDS.get(command if isinstance(command, str) else "deploy", "make deploy")


# What a lock's sentences show of its holder, and at most how much of each.
SHOWN_HOLDER_FIELDS = ("by", "started", "pid", "command")
SHOWN_HOLDER_LENGTH = 120


def readable_holder(holder: dict) -> dict:
    """A lock's holder as its sentences show it: the fields they name as one line of text,
    control characters (a terminal's escape sequences, line breaks) as "?", each cut to
    SHOWN_HOLDER_LENGTH characters: a lock written by hand says no more than a command's."""
    readable = dict(holder)
    for key in SHOWN_HOLDER_FIELDS:
        if key not in readable:
            continue
        value = readable[key]
        text = value if isinstance(value, str) else json.dumps(value)
        text = "".join("?" if ord(c) < 32 or 127 <= ord(c) < 160 else c for c in text)
        if len(text) > SHOWN_HOLDER_LENGTH:
            text = text[: SHOWN_HOLDER_LENGTH - 1] + "…"
        readable[key] = text
    return readable


def duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 120:
        return f"{seconds} second{'' if seconds == 1 else 's'}"
    if seconds < 2 * 3600:
        return f"{round(seconds / 60)} minutes"
    return f"{round(seconds / 3600)} hours"


def ago(seconds: float) -> str:
    return f"{duration(seconds)} ago"


# What each command holding the lock is called in the sentence of the one it refuses.
LOCKED_COMMANDS = {
    "deploy": "make deploy",
    "rollback": "make rollback",
    "operator": "make operator",
    "destroy": "make destroy",
    "manage": "deploy/stage.py manage",
}


def stage_lock(aws, stage: str, command: str) -> DeployLock:
    """The stage's lock for `command` (a context manager): held while it changes the stage."""
    return DeployLock(aws, stage, account_of(aws), command)


SECRETS = {"DjangoSecretArn": "Django's key", "DatabaseSecretArn": "the database's password"}


def check_secrets(aws, outputs: dict) -> None:
    """The function reads both secrets when it starts: one deleted (or scheduled for deletion)
    would let the new version fail on every cold start. Said before anything changes."""
    secrets = aws.client("secretsmanager")
    for output, what in SECRETS.items():
        arn = outputs[output]
        try:
            described = secrets.describe_secret(SecretId=arn)
        except secrets.exceptions.ResourceNotFoundException:
            raise SystemExit(
                f"The secret {arn} ({what}) is gone from Secrets Manager, and the function"
                " cannot start without it. It cannot be brought back: docs/operations.md, 'A"
                " secret deleted', says what to do."
            ) from None
        if described.get("DeletedDate"):
            raise SystemExit(
                f"The secret {described['Name']} ({what}) is scheduled for deletion, and the"
                " function cannot start without it: restore it with `aws secretsmanager"
                f" restore-secret --secret-id {described['Name']}`, then run this again."
            )


def deploy(stage: str, canary: int, bake_minutes: float, poll_seconds: float) -> int:
    aws = session()
    account = account_of(aws)
    # A destroy empties the Zappa bucket (its lock too) before deleting the stack: said
    # before taking the lock, which would keep the bucket from being deleted.
    refuse_if_changing(aws.client("cloudformation"), stage)
    lock = DeployLock(aws, stage, account)
    lock.acquire()  # before the stack changes, when the stack is there
    try:
        return deploy_locked(aws, lock, stage, account, canary, bake_minutes, poll_seconds)
    finally:
        lock.release()


def deploy_locked(aws, lock, stage, account, canary, bake_minutes, poll_seconds) -> int:
    region = aws.region_name
    parameters = {"Stage": stage}
    if os.environ.get("ALARM_EMAIL"):
        parameters["AlarmEmail"] = os.environ["ALARM_EMAIL"]
    ensure_stack(aws, stage, parameters)
    lock.acquire()  # the first deploy: once the stack made the bucket
    outputs = stack_outputs(aws, stage)
    check_secrets(aws, outputs)
    settings_file = write_settings(stage, render_settings(stage, account, region, outputs))
    say(f"Zappa settings for {stage}: {settings_file.relative_to(ROOT)}")
    zip_file = package(stage, settings_file)

    lam = aws.client("lambda")
    name = function_name(stage)
    first = not function_exists(lam, name)
    previous = None if first else (current_alias(lam, name) or {}).get("FunctionVersion")
    lock.ensure_held()  # still this command's (a build can take minutes)
    zappa("deploy" if first else "update", stage, "-z", str(zip_file), settings_file=settings_file)
    record_site_url(aws, stage, json.loads(settings_file.read_text())[stage])
    if partial_batch_responses.main([stage, "--settings", str(settings_file)]) != 0:
        return 1
    reserve_concurrency(aws, name, int(outputs["FunctionConcurrency"]))
    apply_gateway_responses(aws, stage, site_url(aws, stage, rendered_environment(settings_file)))
    lock.ensure_held()
    zappa("manage", stage, "migrate --noinput", settings_file=settings_file)
    rendered = json.loads(settings_file.read_text())[stage]
    environment = {**rendered["environment_variables"], "AWS_REGION": rendered["aws_region"]}
    collect_static_if_changed(aws, environment)

    version = newest_version(lam, name)
    check_health(lam, stage, region, version)
    baking = canary and previous and previous != version
    if baking and not bake(aws, stage, previous, version, canary, bake_minutes, poll_seconds):
        return 1
    lock.ensure_held()
    promote(lam, name, version)
    say(f"{name}:{ALIAS} -> version {version}")
    print(f"\n{stage} is at {api_url(aws, stage)}/", flush=True)
    return 0


def rollback(stage: str) -> int:
    """The `live` alias back to the version it served before the current one (no code moves)."""
    aws = session()
    lam = aws.client("lambda")
    name = function_name(stage)
    if not function_exists(lam, name):
        raise SystemExit(no_stage_here(aws, stage))
    # The alias is read and moved under the stage's lock: a deploy or another rollback moving
    # it at the same time would make this one go back from a version it no longer serves.
    with stage_lock(aws, stage, "rollback"):
        return rollback_locked(lam, stage, name)


def rollback_locked(lam, stage: str, name: str) -> int:
    alias = current_alias(lam, name)
    if alias is None:
        raise SystemExit(f"{name} has no `{ALIAS}` alias yet: run `make deploy STAGE={stage}`.")
    current = alias["FunctionVersion"]
    weights = alias.get("RoutingConfig", {}).get("AdditionalVersionWeights", {})
    if weights:  # a canary in flight: drop it
        point_alias(lam, name, current)
        say(f"canary to {', '.join(weights)} cancelled: all on {current}")
        return 0
    published = {
        v["Version"]
        for page in lam.get_paginator("list_versions_by_function").paginate(FunctionName=name)
        for v in page["Versions"]
        if v["Version"] != "$LATEST"
    }
    history = served_before(alias)
    if history is None:  # an alias from before the history was kept: the version below
        history = sorted((v for v in published if int(v) < int(current)), key=int)[-1:]
    # Zappa keeps the newest versions only (num_retained_versions): older ones are gone.
    history = [version for version in history if version in published]
    if not history:
        raise SystemExit(
            f"Nothing to roll back to: version {current} of {stage} is the earliest it served"
            " that `make rollback` knows of. To run other code, deploy it: git checkout"
            f" <commit> && make deploy STAGE={stage}"
        )
    target = history.pop()
    point_alias(lam, name, target, served_before=history)
    say(f"{name}:{ALIAS} -> version {target} (was {current})")
    say("migrations are not undone; the SQS, S3 and schedule triggers keep running $LATEST")
    return 0


def empty_bucket(s3, bucket: str) -> None:
    from botocore.exceptions import ClientError

    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            objects = [
                {"Key": o["Key"], "VersionId": o["VersionId"]}
                for o in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            if objects:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": objects})
        s3.delete_bucket(Bucket=bucket)
    except ClientError as error:
        if "NoSuchBucket" not in str(error):
            raise


def confirm_destroy(stage: str, confirmed: bool) -> None:
    """Deleting a stage needs its name typed back (or `--yes`, as `CONFIRM=<stage>` gives)."""
    if confirmed:
        return
    warning = (
        f"This deletes the stage {stage}: its function, database (a final snapshot is kept)"
        " and files."
    )
    if not sys.stdin.isatty():
        raise SystemExit(f"{warning} Run `make destroy STAGE={stage} CONFIRM={stage}` to go ahead.")
    print(warning)
    if input(f"Type the stage's name ({stage}) to delete it: ").strip() != stage:
        raise SystemExit("Nothing deleted.")


def bucket_exists(s3, bucket: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchBucket", "NotFound"):
            return False
        raise
    return True


def stages_here(aws) -> list[str]:
    """The stages deployed in this account and region, by their stacks' names."""
    prefix, suffix = f"{APP}-", "-infra"
    found = set()
    for page in aws.client("cloudformation").get_paginator("list_stacks").paginate():
        for stack in page["StackSummaries"]:
            named = stack["StackName"]
            if stack["StackStatus"] == "DELETE_COMPLETE" or not named.startswith(prefix):
                continue
            if named.endswith(suffix):
                found.add(named[len(prefix) : -len(suffix)])
    return sorted(found)


def no_stage_here(aws, stage: str) -> str:
    others = ", ".join(stages_here(aws)) or "none"
    return (
        f"There is no stage {stage} in {aws.region_name} (account {account_of(aws)}); stages"
        f" there: {others}. Check STAGE, and AWS_REGION or AWS_PROFILE."
    )


def destroy(stage: str, confirmed: bool) -> int:
    confirm_destroy(stage, confirmed)
    aws = session()
    account = account_of(aws)
    lam = aws.client("lambda")
    s3 = aws.client("s3")
    cloudformation = aws.client("cloudformation")
    name = function_name(stage)
    buckets = [f"{APP}-{stage}-zappa-{account}", f"{APP}-{stage}-files-{account}"]
    has_function = function_exists(lam, name)
    has_stack = stack_exists(cloudformation, stack_name(stage))
    left_buckets = [bucket for bucket in buckets if bucket_exists(s3, bucket)]
    if not (has_function or has_stack or left_buckets):
        raise SystemExit(f"Nothing deleted. {no_stage_here(aws, stage)}")
    with DeployLock(aws, stage, account, "destroy") as lock:
        destroy_locked(aws, lock, stage, account, buckets, has_function, has_stack)
    say(f"{stage} destroyed")
    return 0


def destroy_locked(aws, lock, stage, account, buckets, has_function, has_stack) -> None:
    s3 = aws.client("s3")
    cloudformation = aws.client("cloudformation")
    if has_function:
        settings_file = write_settings(
            stage, render_settings(stage, account, aws.region_name, outputs=None)
        )
        # Not --remove-logs: the function's log group is the stack's (deleted with it), and
        # the API's execution logs are off, so Zappa printed a traceback for that group.
        zappa("undeploy", stage, "--yes", settings_file=settings_file)
    # The lock goes with the Zappa bucket: no renewal may write it back into the bucket
    # being emptied (nor can another command take it: it finds no bucket).
    lock.stop_renewing()
    if has_stack:
        empty_bucket(s3, buckets[0])
        say(f"deleting the stack {stack_name(stage)} (the database leaves a final snapshot)")
        cloudformation.delete_stack(StackName=stack_name(stage))
        wait_for_deletion(cloudformation, stage)
    # The files bucket is kept by the stack (DeletionPolicy Retain) so an update can never
    # lose uploads; destroying the stage removes it (and what an interrupted destroy left).
    for bucket in buckets:
        empty_bucket(s3, bucket)


def wait_for_deletion(cloudformation, stage: str) -> None:
    from botocore.exceptions import WaiterError

    name = stack_name(stage)
    try:
        cloudformation.get_waiter("stack_delete_complete").wait(
            StackName=name, WaiterConfig={"Delay": 15, "MaxAttempts": 240}
        )
    except WaiterError:
        raise SystemExit(
            f"The stack {name} was not deleted ({stack_status(cloudformation, name)}): the"
            " Events tab of the stack in the CloudFormation console says what stopped it (on"
            " prod, the database's deletion protection: turn it off in the RDS console first)."
            f" Then run `make destroy STAGE={stage}` again."
        ) from None


def django_setup() -> None:
    """The project's Django here (the dev virtualenv has it): its validators and hashers."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wildrydes.settings")
    import logging

    import django
    from django.apps import apps

    if not apps.ready:  # (a test's process has it already)
        django.setup()
        logging.getLogger("botocore").setLevel(logging.WARNING)  # the settings' INFO: noise


def password_hash(password: str) -> str:
    """Django's hash of the password, made here with the project's own hashers and checked
    against its password validators (the dev virtualenv has Django)."""
    django_setup()
    from django.contrib.auth.hashers import PBKDF2PasswordHasher
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    try:
        validate_password(password)
    except ValidationError as error:
        raise SystemExit(" ".join(error.messages)) from error
    # Django's PBKDF2 itself, what the stage's settings verify with, whatever hashers this
    # process's settings list (the tests' are fast and insecure).
    hasher = PBKDF2PasswordHasher()
    return hasher.encode(password, hasher.salt())


def operator(stage: str, email: str) -> int:
    """The first operator (a superuser in the Operators group): the password is asked here
    (or read from OPERATOR_PASSWORD), hashed here, and only its hash goes to the function."""
    import getpass

    if not email or "@" not in email:
        raise SystemExit("make operator STAGE=<name> EMAIL=<your address>")
    django_setup()
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    try:
        validate_email(email)
    except ValidationError:
        raise SystemExit(
            f"{email} is not an e-mail address: make operator STAGE=<name> EMAIL=<your address>"
        ) from None
    # The stage first: a typo in STAGE is said before a password is typed for nothing.
    aws = session()
    settings_file = write_settings(
        stage,
        render_settings(stage, account_of(aws), aws.region_name, stack_outputs(aws, stage)),
    )
    password = os.environ.get("OPERATOR_PASSWORD") or getpass.getpass(f"Password for {email}: ")
    hashed = password_hash(password)
    command = f"create_operator {email} --password-hash {hashed} --superuser"
    with stage_lock(aws, stage, "operator"):
        zappa("manage", stage, command, settings_file=settings_file, echo=False)
    say(f"{email} can sign in at {api_url(aws, stage)}/admin/")
    return 0


def unlock(stage: str, confirmed: bool) -> int:
    """`make unlock STAGE=...`: the stage's lock removed, once its holder is named and the
    removal confirmed (typing the stage's name, or --yes as CONFIRM=<stage> gives). Only if
    S3 still has the lock that was shown: one renewed or taken over meanwhile is left."""
    aws = session()
    lock = DeployLock(aws, stage, account_of(aws), "unlock")
    found = lock.read()
    if found is None:
        say(f"Nothing to unlock: no command holds the stage {stage}.")
        return 0
    holder = found.holder
    print(
        f"The stage {stage} is held by `{running_command(holder)} STAGE={stage}`, started by"
        f" {holder.get('by', 'someone')} (pid {holder.get('pid', '?')}) at"
        f" {holder.get('started', '?')}, last heard from {ago(found.age)}."
    )
    if found.lapsed:
        print(f"It stopped without releasing it (its lock lapsed after {duration(found.ttl)}).")
    else:
        print(
            "It is most likely still running (it renews its lock while it works): removing"
            " its lock lets another command change the stage at the same time. Remove it only"
            f" if you know it stopped (otherwise it lapses {duration(found.ttl)} after it was"
            " last heard from)."
        )
    if not confirmed:
        if not sys.stdin.isatty():
            raise SystemExit(
                f"Nothing removed. Run `make unlock STAGE={stage} CONFIRM={stage}` to remove it."
            )
        if input(f"Type the stage's name ({stage}) to remove its lock: ").strip() != stage:
            raise SystemExit("Nothing removed.")
    if not lock.remove(found.etag):
        raise SystemExit(
            f"Nothing removed: the lock of {stage} changed since it was read (its command"
            f" renewed it, so it is running, or another took it over). Run `make unlock"
            f" STAGE={stage}` again to see who holds it now."
        )
    say(f"{stage} unlocked: the next command on it goes ahead.")
    return 0


def zappa_command(stage: str, command: str, argument: str) -> int:
    """`zappa manage|invoke` for a deployed stage, with its settings rendered here (the
    checkout's zappa_settings.json holds only "base": zappa alone knows no stage)."""
    aws = session()
    outputs = stack_outputs(aws, stage)
    rendered = render_settings(stage, account_of(aws), aws.region_name, outputs)
    settings_file = write_settings(stage, rendered)
    if command == "manage":  # a management command may change the stage (migrate, ...)
        with stage_lock(aws, stage, "manage"):
            zappa(command, stage, argument, settings_file=settings_file)
    else:  # invoke: one of the app's own scheduled functions, run once
        zappa(command, stage, argument, settings_file=settings_file)
    return 0


def main(argv: list[str]) -> int:
    """The command, and what goes wrong said in one sentence, never a traceback."""
    try:
        return run_command(argv)
    except KeyboardInterrupt:
        raise SystemExit("Interrupted.") from None
    except subprocess.CalledProcessError as error:
        command = error.cmd[4:] if error.cmd[0] == SETPRIV else error.cmd  # dies_with_this_command
        step = " ".join(Path(part).name if os.sep in part else part for part in command[:3])
        raise SystemExit(
            f"`{step} ...` failed (exit {error.returncode}): its own output above says why."
            " Fix that and run it again (a deploy picks up where it stopped)."
        ) from None
    except Exception as error:  # botocore's, translated; anything else is a bug: raised
        sentence = aws_error_sentence(error)
        if sentence is None:
            raise
        raise SystemExit(sentence) from None


def aws_error_sentence(error: Exception) -> str | None:
    from botocore import exceptions

    if isinstance(error, exceptions.NoCredentialsError | exceptions.PartialCredentialsError):
        return (
            "No AWS credentials: set AWS_PROFILE to a profile of `aws configure list-profiles`"
            " (after `aws sso login` if it is an SSO one), or AWS_ACCESS_KEY_ID and"
            " AWS_SECRET_ACCESS_KEY, then run this again."
        )
    if isinstance(error, exceptions.ProfileNotFound):
        return (
            f"There is no AWS profile {os.environ.get('AWS_PROFILE', '')!r} on this machine: set"
            " AWS_PROFILE to one of `aws configure list-profiles`, or make it with `aws"
            " configure --profile <name>`."
        )
    if isinstance(error, exceptions.SSOError | exceptions.TokenRetrievalError):
        return f"Your AWS sign-in has expired ({error}): run `aws sso login`, then this again."
    if isinstance(error, exceptions.EndpointConnectionError | exceptions.ConnectTimeoutError):
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "?"
        return (
            f"Could not reach AWS ({error.kwargs.get('endpoint_url', '')}): check that"
            f" AWS_REGION ({region}) is a region AWS has, such as us-east-1, and that this"
            " machine is online."
        )
    if isinstance(error, exceptions.ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", str(error))
        if code in CREDENTIALS_REFUSED:
            return (
                f"AWS refused these credentials ({code}: {message}). Renew them (`aws sso login`"
                " or new keys), check AWS_PROFILE or AWS_ACCESS_KEY_ID, then run this again."
            )
        if "AccessDenied" in code or code == "UnauthorizedOperation":
            return (
                f"These credentials may not do this ({error.operation_name}: {message})."
                " docs/deploy.md: deploying takes administrator rights in the account."
            )
        return f"AWS refused {error.operation_name} ({code}): {message}"
    if isinstance(error, exceptions.BotoCoreError):
        return f"The AWS SDK stopped: {error}"
    from botocore.parsers import ResponseParserError

    if isinstance(error, ResponseParserError):
        endpoint = os.environ.get("AWS_ENDPOINT_URL")
        where = f"AWS_ENDPOINT_URL ({endpoint})" if endpoint else "AWS"
        return (
            f"{where} answered something that is not an AWS answer: {str(error)[:200]}"
            " (a bare moto_server cannot hold the stack: docs/deploy.md, 'Without an AWS"
            " account')."
        )
    return None


CREDENTIALS_REFUSED = {
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidAccessKeyId",
    "RequestExpired",
}


COMMANDS = ["deploy", "rollback", "destroy", "settings", "operator", "manage", "invoke", "unlock"]


def run_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "command",
        choices=COMMANDS,
    )
    parser.add_argument("stage")
    parser.add_argument("argument", nargs="?", default="", help="manage: COMMAND, invoke: FUNCTION")
    parser.add_argument("--email", default="")
    parser.add_argument("--canary", type=int, default=0, help="percent of requests (1-50)")
    parser.add_argument("--bake-minutes", type=float, default=10.0)
    parser.add_argument("--poll-seconds", type=float, default=30.0)
    parser.add_argument("--yes", action="store_true")
    parser.add_argument("--offline", action="store_true")
    args = parser.parse_args(argv)
    if not re.fullmatch(STAGE_NAME, args.stage):
        raise SystemExit(
            f"{args.stage!r} cannot be a stage: a stage name is 1 to 20 lower-case letters and"
            " digits, starting with a letter (AWS limits the length of the names made from"
            " it), e.g. STAGE=dev or STAGE=alice2."
        )
    if not 0 <= args.canary <= 50:
        raise SystemExit("--canary is a percentage of requests between 1 and 50.")
    if args.command in ("manage", "invoke") and not args.argument:
        raise SystemExit(f'deploy/stage.py {args.command} {args.stage} "<what to run>"')
    if args.command == "deploy":
        return deploy(args.stage, args.canary, args.bake_minutes, args.poll_seconds)
    if args.command == "rollback":
        return rollback(args.stage)
    if args.command == "destroy":
        return destroy(args.stage, args.yes)
    if args.command == "operator":
        return operator(args.stage, args.email)
    if args.command == "unlock":
        return unlock(args.stage, args.yes)
    if args.command in ("manage", "invoke"):
        return zappa_command(args.stage, args.command, args.argument)
    if args.offline:
        rendered = render_settings(args.stage, OFFLINE_ACCOUNT, "us-east-1", outputs=None)
    else:
        aws = session()
        outputs = stack_outputs(aws, args.stage)
        rendered = render_settings(args.stage, account_of(aws), aws.region_name, outputs)
    print(json.dumps(rendered, indent=4))
    return 0


def stop_on_terminate(signum, frame):
    """SIGTERM (a CI job cancelled, `kill`) ends a deploy as Ctrl-C does: its lock released."""
    raise KeyboardInterrupt


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGTERM, stop_on_terminate)
    sys.exit(main(sys.argv[1:]))
