"""The mistakes a deployer makes with `make deploy|rollback|operator|destroy` end in one
sentence that says what to do, never a traceback, and change nothing. What needs AWS runs
against moto's server (no package, no stack: the whole deploy is tests/aws/test_deploy_stage.py).
"""

import io
import json
import re
import zipfile

import pytest

from tests.aws import moto_stack

pytestmark = pytest.mark.filterwarnings(moto_stack.IGNORE_UNSUPPORTED)

AWS_VARIABLES = (
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_LAMBDA", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
)  # fmt: skip


@pytest.fixture
def stages():
    return moto_stack.stage_module()


@pytest.fixture
def bare_aws(monkeypatch, tmp_path):
    """A machine with no AWS configuration at all (no ~/.aws, no variables, no instance)."""
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    return monkeypatch


def refused(stages, argv) -> str:
    """What main() says on the way out: a sentence (SystemExit's message), not a traceback."""
    with pytest.raises(SystemExit) as exited:
        stages.main(argv)
    assert isinstance(exited.value.code, str), exited.value.code
    assert "Traceback" not in exited.value.code
    return exited.value.code


def test_the_region_the_docs_export_is_the_one_used(stages, bare_aws):
    # docs/deploy.md: `export AWS_PROFILE=wildrydes AWS_REGION=us-east-1`; boto3 alone reads
    # only AWS_DEFAULT_REGION, so this said "No AWS region".
    bare_aws.setenv("AWS_REGION", "eu-west-1")
    assert stages.session().region_name == "eu-west-1"
    bare_aws.delenv("AWS_REGION")
    assert "export AWS_REGION=" in refused(stages, ["deploy", "demo"])


@pytest.mark.parametrize("command", [["deploy", "demo"], ["rollback", "demo"]])
def test_no_credentials_says_which_to_set(stages, bare_aws, command):
    bare_aws.setenv("AWS_REGION", "us-east-1")
    said = refused(stages, command)
    assert said.startswith("No AWS credentials: set AWS_PROFILE")
    assert "AWS_ACCESS_KEY_ID" in said


def test_an_unknown_profile_is_named(stages, bare_aws):
    bare_aws.setenv("AWS_PROFILE", "wildrydes")
    said = refused(stages, ["deploy", "demo"])
    assert "There is no AWS profile 'wildrydes'" in said and "aws configure" in said


def test_aws_out_of_reach_names_the_region_to_check(stages, bare_aws):
    for name, value in moto_stack.FAKE_CREDENTIALS.items():
        bare_aws.setenv(name, value)
    bare_aws.setenv("AWS_REGION", "us-esat-1")
    bare_aws.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    said = refused(stages, ["deploy", "demo"])
    assert said.startswith("Could not reach AWS") and "AWS_REGION (us-esat-1)" in said


@pytest.mark.parametrize("stage", ["Demo", "demo_1", "1demo", "a" * 21, "a" * 70])
def test_a_stage_name_aws_would_refuse_is_refused_before_any_call(stages, monkeypatch, stage):
    monkeypatch.setattr(stages, "session", lambda: pytest.fail("AWS was called"))
    said = refused(stages, ["deploy", stage])
    assert "1 to 20 lower-case letters and digits, starting with a letter" in said
    assert stages.main(["settings", "a" * 20, "--offline"]) == 0


def test_the_stage_name_rule_is_the_stacks(stages):
    parameter = moto_stack.load_template()["Parameters"]["Stage"]
    assert parameter["AllowedPattern"] == f"^{stages.STAGE_NAME}$"


def test_an_operator_address_that_is_not_one_is_refused_before_anything(stages, monkeypatch):
    monkeypatch.setattr(stages, "session", lambda: pytest.fail("AWS was called"))
    monkeypatch.setenv("OPERATOR_PASSWORD", "unicorn-operator-2026")
    said = refused(stages, ["operator", "demo", "--email", "ops@"])
    assert said.startswith("ops@ is not an e-mail address")


# --- against moto's server ------------------------------------------------------------


@pytest.fixture
def aws(stages, bare_aws):
    with moto_stack.moto_server() as endpoint:
        for name, value in moto_stack.FAKE_CREDENTIALS.items():
            bare_aws.setenv(name, value)
        bare_aws.setenv("AWS_REGION", moto_stack.REGION)
        bare_aws.setenv("AWS_ENDPOINT_URL", endpoint)
        yield stages.session()


def a_function(aws, name: str) -> None:
    """A function with a published version 1, as `zappa deploy` leaves one (its code aside)."""
    iam = aws.client("iam")
    trust = {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(trust))
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as zf:
        zf.writestr("handler.py", "def lambda_handler(event, context):\n    return 1\n")
    aws.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="handler.lambda_handler",
        Code={"ZipFile": code.getvalue()},
        Publish=True,
    )


def publish(lam, name: str, release: int) -> str:
    lam.update_function_configuration(FunctionName=name, Description=f"release {release}")
    return lam.publish_version(FunctionName=name)["Version"]


def test_rollback_goes_back_to_what_was_served_and_says_when_there_is_nothing(stages, aws):
    lam, name = aws.client("lambda"), stages.function_name("demo")
    a_function(aws, name)
    stages.promote(lam, name, "1")  # the first deploy
    said = refused(stages, ["rollback", "demo"])
    assert said.startswith("Nothing to roll back to: version 1 of demo is the earliest")
    assert "make deploy STAGE=demo" in said
    assert lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "1"

    # A release (2) rolled back, then a fix (3) deployed: its rollback goes back to 1, the
    # version that served before it; never to 2, the release rolled back as bad.
    stages.promote(lam, name, publish(lam, name, 2))
    assert stages.main(["rollback", "demo"]) == 0
    assert lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "1"
    stages.promote(lam, name, publish(lam, name, 3))
    assert stages.main(["rollback", "demo"]) == 0
    assert lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "1"
    assert refused(stages, ["rollback", "demo"]).startswith("Nothing to roll back to")

    # Versions Zappa no longer keeps (num_retained_versions) are passed over.
    for release in (4, 5, 6):
        stages.promote(lam, name, publish(lam, name, release))  # served: 1, 4, 5; now 6
    lam.delete_function(FunctionName=name, Qualifier="5")
    assert stages.main(["rollback", "demo"]) == 0
    assert lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "4"


def test_a_stage_that_is_not_there_is_said_so_and_nothing_else_is_touched(stages, aws, monkeypatch):
    lam = aws.client("lambda")
    a_function(aws, stages.function_name("demo2"))
    # Before any password is asked for the operator.
    monkeypatch.setattr("getpass.getpass", lambda prompt: pytest.fail("a password was asked"))
    monkeypatch.delenv("OPERATOR_PASSWORD", raising=False)
    for command in (
        ["destroy", "demo", "--yes"],
        ["rollback", "demo"],
        ["manage", "demo", "x"],
        ["operator", "demo", "--email", "ops@example.com"],
    ):
        said = refused(stages, command)
        assert "There is no stage demo in us-east-1 (account 123456789012)" in said
        assert "Check STAGE, and AWS_REGION or AWS_PROFILE" in said
    assert stages.function_exists(lam, stages.function_name("demo2"))


def test_a_second_deploy_of_a_stage_waits_for_the_first_one(stages, aws):
    account = stages.account_of(aws)
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=f"wildrydes-demo-zappa-{account}")
    first, second = (stages.DeployLock(aws, "demo", account) for _ in range(2))
    first.acquire()
    with pytest.raises(SystemExit) as exited:
        second.acquire()
    said = exited.value.code
    assert said.startswith("Another `make deploy STAGE=demo` is running: started by ")
    # S3's clock counts whole seconds (and a busy machine may take one or two between them).
    assert re.search(r"last heard from [0-9] seconds? ago\. Wait for it to finish, then run", said)
    assert "its lock lapses 10 minutes after it was last heard from" in said
    assert said.endswith("to remove it now: make unlock STAGE=demo")
    with pytest.raises(SystemExit, match="Another `make deploy STAGE=demo` is running"):
        stages.destroy("demo", confirmed=True)  # nor is a deploying stage destroyed
    assert s3.head_bucket(Bucket=f"wildrydes-demo-zappa-{account}")
    second.release()  # not its lock: left alone
    first.release()
    second.acquire()
    second.release()


def test_a_secret_deleted_or_about_to_be_is_said_before_the_deploy_changes_anything(stages, aws):
    secrets = aws.client("secretsmanager")
    outputs = {
        output: secrets.create_secret(Name=f"wildrydes/demo/{output}", SecretString="x")["ARN"]
        for output in stages.SECRETS
    }
    stages.check_secrets(aws, outputs)
    secrets.delete_secret(SecretId=outputs["DjangoSecretArn"], RecoveryWindowInDays=7)
    with pytest.raises(SystemExit) as exited:
        stages.check_secrets(aws, outputs)
    assert "wildrydes/demo/DjangoSecretArn (Django's key) is scheduled for deletion" in str(
        exited.value.code
    )
    assert "aws secretsmanager restore-secret --secret-id" in exited.value.code
    secrets.restore_secret(SecretId=outputs["DjangoSecretArn"])
    secrets.delete_secret(SecretId=outputs["DatabaseSecretArn"], ForceDeleteWithoutRecovery=True)
    with pytest.raises(SystemExit, match=r"\(the database's password\) is gone"):
        stages.check_secrets(aws, outputs)


def test_a_deploy_stopped_by_sigterm_says_so_and_runs_its_clean_up(bare_aws):
    """A cancelled CI job or `kill` ends a deploy as Ctrl-C does (its `finally`: the stage's
    deploy lock released), not with Python's silent default."""
    import signal
    import socket
    import subprocess
    import sys

    with socket.create_server(("127.0.0.1", 0)) as aws_that_never_answers:
        for name, value in moto_stack.FAKE_CREDENTIALS.items():
            bare_aws.setenv(name, value)
        bare_aws.setenv("AWS_REGION", moto_stack.REGION)
        port = aws_that_never_answers.getsockname()[1]
        bare_aws.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
        stage_py = moto_stack.ROOT / "deploy" / "stage.py"
        deploying = subprocess.Popen(
            [sys.executable, str(stage_py), "deploy", "demo"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        aws_that_never_answers.settimeout(30)
        connection, _ = aws_that_never_answers.accept()  # it is asking STS who it is
        deploying.send_signal(signal.SIGTERM)
        _, said = deploying.communicate(timeout=30)
        connection.close()
    assert deploying.returncode == 1
    assert said.strip() == "Interrupted."


def test_an_endpoint_that_is_not_aws_is_said_so(stages, bare_aws):
    """A bare `moto_server` (no harness gaps) answers the stack's calls with an HTML 500."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class NotAws(BaseHTTPRequestHandler):
        def do_POST(self):
            self.send_response(500)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<!doctype html><title>500 Internal Server Error</title>")

        def log_message(self, *args):
            pass

    with HTTPServer(("127.0.0.1", 0), NotAws) as not_aws:
        threading.Thread(target=not_aws.serve_forever, daemon=True).start()
        for name, value in moto_stack.FAKE_CREDENTIALS.items():
            bare_aws.setenv(name, value)
        bare_aws.setenv("AWS_REGION", moto_stack.REGION)
        endpoint = f"http://127.0.0.1:{not_aws.server_address[1]}"
        bare_aws.setenv("AWS_ENDPOINT_URL", endpoint)
        said = refused(stages, ["deploy", "demo"])
        not_aws.shutdown()
    assert said.startswith(f"AWS_ENDPOINT_URL ({endpoint}) answered something that is not")
    assert "Without an AWS account" in said


# --- one command changing a stage at a time, between real processes --------------------

STAGE_PY = moto_stack.ROOT / "deploy" / "stage.py"
HOLD_THE_LOCK = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("stage", sys.argv[1])
stages = importlib.util.module_from_spec(spec)
spec.loader.exec_module(stages)
aws = stages.session()
lock = stages.DeployLock(aws, "demo", stages.account_of(aws))
lock.command = sys.argv[2]  # the command holding it
lock.acquire()
print("held", flush=True)
try:
    sys.stdin.read()  # until the test closes it
finally:
    lock.release()
"""


def names_only_stack(aws, stage: str) -> None:
    """A stack with the stage's outputs and nothing else (what `make operator` and `manage`
    read before they run anything in the function)."""
    account = aws.client("sts").get_caller_identity()["Account"]
    prefix, arn = f"wildrydes-{stage}", f"arn:aws:{{}}:us-east-1:{account}:{{}}"
    outputs = {
        "FilesBucketName": f"{prefix}-files-{account}",
        "DeploymentBucketName": f"{prefix}-zappa-{account}",
        "FunctionSubnetIds": "subnet-1,subnet-2",
        "FunctionSecurityGroupId": "sg-1",
        "DatabaseProxyEndpoint": "proxy.example",
        "DatabaseName": "wildrydes",
        "DatabaseSecretArn": arn.format("secretsmanager", f"secret:{prefix}-database"),
        "DjangoSecretArn": arn.format("secretsmanager", f"secret:{prefix}-django"),
        "PaymentListStateMachineArn": arn.format("states", f"stateMachine:{prefix}-payment-list"),
    }
    template = {
        "Resources": {"Nothing": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    aws.client("cloudformation").create_stack(
        StackName=f"{prefix}-infra", TemplateBody=json.dumps(template)
    )


def stage_py(*arguments: str, **popen):
    import subprocess
    import sys

    return subprocess.Popen(
        [sys.executable, str(STAGE_PY), *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


@pytest.fixture
def released_stage(stages, aws):
    """Stage demo: its Zappa bucket and function, `live` on version 3 after 1 and 2."""
    account = stages.account_of(aws)
    aws.client("s3").create_bucket(Bucket=f"wildrydes-demo-zappa-{account}")
    lam, name = aws.client("lambda"), stages.function_name("demo")
    a_function(aws, name)
    stages.promote(lam, name, "1")
    for release in (2, 3):
        stages.promote(lam, name, publish(lam, name, release))
    return lam, name


def test_rollback_operator_and_manage_wait_for_the_command_changing_the_stage(
    stages, aws, released_stage, monkeypatch
):
    """A `make deploy` (or rollback...) of the stage runs in another process: every other
    command that changes the stage stops with the sentence a second deploy gets, and
    changes nothing; once it is done, they run."""
    import subprocess
    import sys

    lam, name = released_stage
    names_only_stack(aws, "demo")
    monkeypatch.setenv("OPERATOR_PASSWORD", "unicorn-operator-2026")
    for holding, running in (("deploy", "make deploy"), ("rollback", "make rollback")):
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_THE_LOCK, str(STAGE_PY), holding],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdout.readline().strip() == "held"
        commands = [
            ["rollback", "demo"],
            ["operator", "demo", "--email", "ops@example.com"],
            ["manage", "demo", "migrate"],
            ["deploy", "demo"],
        ]
        refused_ones = [stage_py(*command) for command in commands]  # all at once
        for command, process in zip(commands, refused_ones, strict=True):
            out, said = process.communicate(timeout=120)
            assert process.returncode == 1, (command, out, said)
            [sentence] = said.strip().splitlines()  # one sentence, no traceback
            assert sentence.startswith(f"Another `{running} STAGE=demo` is running: started by")
            assert "Wait for it to finish, then run yours again." in sentence
            assert sentence.endswith("to remove it now: make unlock STAGE=demo")
            assert "zappa" not in out  # nothing run in the function
        assert lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "3"
        holder.stdin.close()
        assert holder.wait(timeout=30) == 0
    # Done: a rollback goes ahead, and leaves no lock behind.
    done = stage_py("rollback", "demo")
    out, said = done.communicate(timeout=120)
    assert done.returncode == 0, said
    assert lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "2"
    account = stages.account_of(aws)
    listed = aws.client("s3").list_objects_v2(Bucket=f"wildrydes-demo-zappa-{account}")
    assert "deploy.lock" not in str(listed)


def test_rollbacks_at_once_each_go_back_one_version_or_wait(stages, aws, released_stage):
    """Three `make rollback` at the same moment: each goes back one version from what the
    one before it left, or is refused while another runs; never two from the same one."""
    lam, name = released_stage
    for release in (4, 5):  # served before: 1 2 3 4, now 5
        stages.promote(lam, name, publish(lam, name, release))
    processes = [stage_py("rollback", "demo") for _ in range(3)]
    results = [(p.communicate(timeout=120), p.returncode) for p in processes]
    results = [(code, out, said) for (out, said), code in results]
    went_back = [out for code, out, _ in results if code == 0]
    for code, _, said in results:
        if code != 0:
            assert said.strip().startswith("Another `make rollback STAGE=demo` is running")
    assert went_back
    alias = lam.get_alias(FunctionName=name, Name="live")
    assert alias["FunctionVersion"] == str(5 - len(went_back))
    assert alias["Description"] == "served before: " + " ".join(
        str(v) for v in range(1, 5 - len(went_back))
    )
    # Each one said where it moved the alias from: never the same version twice.
    moved_from = [re.search(r"\(was (\d+)\)", out)[1] for out in went_back]
    assert len(set(moved_from)) == len(moved_from)


def test_a_canary_interrupted_puts_every_request_back_on_the_version_it_served(
    stages, aws, released_stage, monkeypatch
):
    """Ctrl-C (or SIGTERM) while a canary bakes: `make rollback` cannot step in meanwhile
    (the deploy holds the lock), so the deploy itself puts the alias back, alone."""
    lam, name = released_stage

    def interrupted(aws, stage):  # Ctrl-C while the alarms are being looked at
        raise KeyboardInterrupt

    monkeypatch.setattr(stages, "firing_alarms", interrupted)
    with pytest.raises(KeyboardInterrupt):
        stages.bake(aws, "demo", "3", publish(lam, name, 4), 10, 5, 1)
    alias = lam.get_alias(FunctionName=name, Name="live")
    assert alias["FunctionVersion"] == "3"
    assert not alias.get("RoutingConfig", {}).get("AdditionalVersionWeights")


# --- a lock its command left behind ----------------------------------------------------


def lock_in_s3(aws, account: str) -> dict:
    body = aws.client("s3").get_object(Bucket=f"wildrydes-demo-zappa-{account}", Key="deploy.lock")
    return json.loads(body["Body"].read())


def wait_until_lapsed(stages, aws, account: str, timeout: float = 30) -> None:
    """Until S3 counts the stage's lock as older than its lapse (polled, S3's whole seconds)."""
    import time

    reader = stages.DeployLock(aws, "demo", account)
    deadline = time.monotonic() + timeout
    while not (found := reader.read()).lapsed:
        assert time.monotonic() < deadline, found
        time.sleep(0.25)


def test_a_killed_command_s_lock_is_taken_over_once_it_lapses(stages, aws, released_stage):
    """`kill -9` of a command holding the stage: its lock stays. While its holder lives it
    renews it (a command refused well after the lapse), once killed the next command is
    refused until the lock lapses (4 s here: renewed every 0.4 s, so a holder starved of CPU
    for 3 s on a busy machine still keeps it), then takes it over, saying whose it was."""
    import os
    import signal
    import subprocess
    import sys
    import time

    lam, name = released_stage
    account = stages.account_of(aws)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LOCK, str(STAGE_PY), "deploy"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "DEPLOY_LOCK_TTL_SECONDS": "4"},
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        held = lock_in_s3(aws, account)
        assert held["ttl_seconds"] == 4 and held["pid"] == holder.pid
        time.sleep(5)  # past its lapse, renewed all along
        refused_one = stage_py("rollback", "demo")
        out, said = refused_one.communicate(timeout=120)
        assert refused_one.returncode == 1, out
        assert said.startswith("Another `make deploy STAGE=demo` is running: started by")
        assert lock_in_s3(aws, account)["renewals"] > held["renewals"]
        os.kill(holder.pid, signal.SIGKILL)  # no `finally`, no release
        assert holder.wait(timeout=30) == -signal.SIGKILL
    finally:
        holder.kill()
    assert lock_in_s3(aws, account)["token"] == held["token"]  # left behind
    wait_until_lapsed(stages, aws, account)
    taker = stage_py("rollback", "demo")
    out, said = taker.communicate(timeout=120)
    assert taker.returncode == 0, said
    took = re.search(
        r"==> The `make deploy STAGE=demo` started by (\S+) \(pid (\d+)\) at (.+ UTC) stopped"
        r" (\d+) seconds ago without releasing the stage; taking it over\.",
        out,
    )
    assert took, out
    assert took.groups()[:3] == (held["by"], str(holder.pid), held["started"])
    assert int(took[4]) >= 4
    assert lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "2"  # was 3
    listed = aws.client("s3").list_objects_v2(Bucket=f"wildrydes-demo-zappa-{account}")
    assert "deploy.lock" not in str(listed)  # the taker released it


def test_two_commands_taking_over_a_lapsed_lock_at_once_one_wins(stages, aws, monkeypatch):
    """Four commands find the same lapsed lock at the same moment: S3's write conditional on
    the ETag they read lets one of them take it; the others read its new lock and wait."""
    import threading

    account = stages.account_of(aws)
    bucket = f"wildrydes-demo-zappa-{account}"
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=bucket)
    gone = {"by": "carol@gone", "pid": 7, "started": "2026-12-07 14:02:11 UTC", "token": "x"}
    s3.put_object(Bucket=bucket, Key="deploy.lock", Body=json.dumps({**gone, "ttl_seconds": 1}))
    wait_until_lapsed(stages, aws, account)
    takers = [stages.DeployLock(aws, "demo", account) for _ in range(4)]
    start = threading.Barrier(len(takers))
    outcomes = {}

    def take(lock):
        start.wait()
        try:
            lock.acquire()
            outcomes[lock.token] = "held"
        except SystemExit as refused:
            outcomes[lock.token] = refused.code

    threads = [threading.Thread(target=take, args=(lock,)) for lock in takers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    [winner] = [lock for lock in takers if outcomes[lock.token] == "held"]
    assert lock_in_s3(aws, account)["token"] == winner.token
    for lock in takers:
        if lock is not winner:
            assert outcomes[lock.token].startswith("Another `make deploy STAGE=demo` is running")
            assert "carol@gone" not in outcomes[lock.token]  # the winner's, not the dead one's
    winner.release()
    assert "deploy.lock" not in str(s3.list_objects_v2(Bucket=bucket))


def test_a_command_whose_lock_was_taken_over_stops_at_its_next_step(stages, aws, monkeypatch):
    """A holder that went quiet past its lapse (its machine asleep) and comes back finds the
    stage taken: its next step stops with a sentence, and it leaves the new lock alone."""
    monkeypatch.setenv("DEPLOY_LOCK_TTL_SECONDS", "1")
    account = stages.account_of(aws)
    aws.client("s3").create_bucket(Bucket=f"wildrydes-demo-zappa-{account}")
    asleep = stages.DeployLock(aws, "demo", account, "rollback")
    asleep.acquire()
    asleep.stop_renewing()  # asleep: no renewal
    wait_until_lapsed(stages, aws, account)
    taker = stages.DeployLock(aws, "demo", account)
    taker.acquire()
    with pytest.raises(SystemExit) as stopped:
        asleep.ensure_held()
    said = stopped.value.code
    assert said.startswith("This `make rollback STAGE=demo` lost the stage's lock (`make deploy`")
    assert "It stops here" in said
    asleep.release()
    assert lock_in_s3(aws, account)["token"] == taker.token
    taker.ensure_held()  # renewed: still its own
    taker.release()


def test_make_unlock_names_the_holder_and_removes_only_what_it_showed(
    stages, aws, monkeypatch, capsys
):
    account = stages.account_of(aws)
    s3 = aws.client("s3")
    bucket = f"wildrydes-demo-zappa-{account}"
    s3.create_bucket(Bucket=bucket)
    assert stages.main(["unlock", "demo"]) == 0
    assert "Nothing to unlock: no command holds the stage demo." in capsys.readouterr().out
    gone = {"by": "dave@ci", "pid": 99, "started": "2026-12-07 14:02:11 UTC", "command": "destroy"}
    s3.put_object(Bucket=bucket, Key="deploy.lock", Body=json.dumps({**gone, "ttl_seconds": 600}))
    # Not a terminal, no CONFIRM: said, nothing removed.
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    said = refused(stages, ["unlock", "demo"])
    assert said == "Nothing removed. Run `make unlock STAGE=demo CONFIRM=demo` to remove it."
    printed = capsys.readouterr().out
    assert "The stage demo is held by `make destroy STAGE=demo`, started by dave@ci (pid 99)" in (
        printed
    )
    assert "It is most likely still running" in printed
    # Renewed between the look and the removal: left.
    real_read = stages.DeployLock.read

    def renewed_meanwhile(lock):
        found = real_read(lock)
        s3.put_object(Bucket=bucket, Key="deploy.lock", Body=json.dumps({**gone, "renewals": 1}))
        return found

    monkeypatch.setattr(stages.DeployLock, "read", renewed_meanwhile)
    said = refused(stages, ["unlock", "demo", "--yes"])
    assert said.startswith("Nothing removed: the lock of demo changed since it was read")
    monkeypatch.setattr(stages.DeployLock, "read", real_read)
    assert lock_in_s3(aws, account)["renewals"] == 1
    assert stages.main(["unlock", "demo", "--yes"]) == 0
    assert "demo unlocked" in capsys.readouterr().out
    assert "deploy.lock" not in str(s3.list_objects_v2(Bucket=bucket))


# --- API Gateway's own answers --------------------------------------------------------


def zappa_like_api(aws, stage: str) -> str:
    """Zappa's stack for the stage, as far as its REST API goes (the logical id `Api`, a
    method), deployed to the stage; the API's id."""
    template = {
        "Resources": {
            "Api": {
                "Type": "AWS::ApiGateway::RestApi",
                "Properties": {"Name": f"wildrydes-{stage}"},
            },
            "ANY0": {
                "Type": "AWS::ApiGateway::Method",
                "Properties": {
                    "RestApiId": {"Ref": "Api"},
                    "ResourceId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
                    "HttpMethod": "ANY",
                    "AuthorizationType": "NONE",
                    "Integration": {
                        "Type": "AWS_PROXY",
                        "IntegrationHttpMethod": "POST",
                        "Uri": f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                        f"arn:aws:lambda:us-east-1:123456789012:function:wildrydes-{stage}:live"
                        "/invocations",
                    },
                },
            },
        }
    }
    cloudformation = aws.client("cloudformation")
    cloudformation.create_stack(StackName=f"wildrydes-{stage}", TemplateBody=json.dumps(template))
    api = cloudformation.describe_stack_resource(
        StackName=f"wildrydes-{stage}", LogicalResourceId="Api"
    )
    api_id = api["StackResourceDetail"]["PhysicalResourceId"]
    aws.client("apigateway").create_deployment(restApiId=api_id, stageName=stage)
    return api_id


def test_api_gateway_answers_its_own_errors_with_a_page_or_the_api_s_shape(stages, aws):
    """What a rider's browser gets when API Gateway answers instead of the function (502,
    504, 429, a path with no route): a page with a sentence and a link home, not
    {"message": "Internal server error"}; the pages' fetch() calls get {"detail": ...}."""
    from html.parser import HTMLParser

    apigateway = aws.client("apigateway")
    api = zappa_like_api(aws, "demo")
    home = "https://abc123.execute-api.us-east-1.amazonaws.com/demo/"
    deployments = len(apigateway.get_deployments(restApiId=api)["items"])
    assert stages.apply_gateway_responses(aws, "demo", home)
    assert len(apigateway.get_deployments(restApiId=api)["items"]) == deployments + 1
    trouble = "Wild Rydes is having trouble right now. Please try again in a moment."
    busy = "Wild Rydes is very busy right now. Please try again in a moment."
    refusal = "Wild Rydes could not take this request. Please start again from the home page."
    said = {
        "DEFAULT_5XX": (None, trouble),
        "THROTTLED": (None, busy),
        "QUOTA_EXCEEDED": (None, busy),
        "DEFAULT_4XX": (None, refusal),
        "MISSING_AUTHENTICATION_TOKEN": ("404", "There is no page at this address on Wild Rydes."),
    }

    class Page(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.links, self.text = [], [], []

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)
            attrs = dict(attrs)
            assert not any(name.startswith("on") for name in attrs), (tag, attrs)
            assert "src" not in attrs, (tag, attrs)  # nothing fetched from anywhere
            if tag == "a":
                self.links.append(attrs["href"])

        def handle_data(self, data):
            self.text.append(data.strip())

    for response_type, (status, sentence) in said.items():
        answer = apigateway.get_gateway_response(restApiId=api, responseType=response_type)
        assert answer.get("statusCode") == status
        templates = answer["responseTemplates"]
        assert set(templates) == {"application/json", "text/html"}
        assert json.loads(templates["application/json"]) == {"detail": sentence}
        assert "$" not in templates["text/html"]  # API Gateway would substitute it
        page = Page()
        page.feed(templates["text/html"])
        assert sentence in page.text
        assert page.links == [home]
        assert not {"script", "link", "img", "iframe", "object", "form"} & set(page.tags)
        headers = answer["responseParameters"]
        assert headers["gatewayresponse.header.Content-Type"] == "'text/html; charset=utf-8'"
        assert headers["gatewayresponse.header.Cache-Control"] == "'no-store'"
    # A redeploy that changes nothing writes nothing and deploys nothing.
    assert not stages.apply_gateway_responses(aws, "demo", home)
    assert len(apigateway.get_deployments(restApiId=api)["items"]) == deployments + 1
