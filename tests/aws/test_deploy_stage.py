"""`make deploy STAGE=ci` (deploy/stage.py, whole) against moto's server: the stage's own
stack, the rendered Zappa settings, the package, Zappa's real `deploy` then `update` against
the same endpoint (AWS_ENDPOINT_URL), partial batch responses, reserved concurrency,
`zappa manage migrate` and `collectstatic` run inside the deployed package through a
loopback Lambda Invoke API (tests/package/lambda_invoke_api.py), the health check through the
`live` alias, a canary promoted after its bake time and one rolled back by an alarm; then
what moto recorded. moto's gaps are filled in the harness only (tests/aws/moto_gaps.py).
"""

import json
import os
import re
import shutil
import subprocess
import time
import urllib.parse
import uuid
import zipfile

import psycopg
import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from tests import pgcluster
from tests.aws import moto_stack
from tests.package.lambda_invoke_api import LoopbackLambda

ROOT = moto_stack.ROOT
OPENSSL_SELF_SIGNED = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
OPENSSL_SELF_SIGNED += ["-subj", "/CN=localhost"]
CANARY = ["--canary", "10", "--bake-minutes", "0.05", "--poll-seconds", "1"]

STAGE = "ci"
pytestmark = [
    pytest.mark.package,
    pytest.mark.filterwarnings(moto_stack.IGNORE_UNSUPPORTED),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


def statements(iam, role: str) -> list[dict]:
    found = []
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        if isinstance(document, str):  # moto's CloudFormation keeps the Python repr
            import ast

            document = ast.literal_eval(document)
        found += document["Statement"]
    return found


def allows(found: list[dict], action: str, resource: str) -> bool:
    def matches(pattern: str, value: str) -> bool:
        return pattern == value or (pattern.endswith("*") and value.startswith(pattern[:-1]))

    for statement in found:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        resources = (
            statement["Resource"]
            if isinstance(statement["Resource"], list)
            else [statement["Resource"]]
        )
        if action in actions and any(matches(r, resource) for r in resources):
            return True
    return False


# Run inside the deployed function, as the notifications queue's trigger runs it: the demo
# rider's last ride completed, told to the notifications subscriber (notification + e-mail).
SEND_A_RECEIPT = """
import uuid
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from notifications.rides import handle_ride_events
from rides.models import Ride
from rides.services import RIDE_COMPLETED, ride_completed_data
settings.DEMO_DATA_ALLOWED = True
call_command("seed_demo")
ride = Ride.objects.filter(rider__email="rider@example.com", status="completed")
ride = ride.latest("completed_at")
envelope = {"id": str(uuid.uuid4()), "type": RIDE_COMPLETED,
            "occurred_at": timezone.now().isoformat(), "data": ride_completed_data(ride)}
with transaction.atomic():
    handle_ride_events([envelope])
"""


class Browser:
    """A rider's browser on the stage's own URL (https://<api>.execute-api.../<stage>/...),
    each request the event API Gateway's REST API hands the `live` alias: the path without
    the stage, the stage in requestContext. Keeps the cookies it is given."""

    def __init__(self, lam, function: str, stage: str):
        self.lam, self.function, self.stage = lam, function, stage
        self.cookies: dict[str, str] = {}

    def __call__(self, method: str, url: str, body: dict | None = None, headers=None) -> dict:
        parts = urllib.parse.urlsplit(url)
        assert parts.scheme == "https" and parts.netloc.endswith(".amazonaws.com"), url
        assert parts.path.startswith(f"/{self.stage}/"), url  # the stage, then the app's path
        path = parts.path[len(self.stage) + 1 :]
        sent = {
            "Host": parts.netloc,
            "Accept": "text/html,application/json",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Port": "443",
            "X-Forwarded-For": "203.0.113.7",
            **({"Content-Type": "application/json"} if body is not None else {}),
            **({"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
               if self.cookies else {}),
            **(headers or {}),
        }  # fmt: skip
        query = dict(urllib.parse.parse_qsl(parts.query)) or None
        event = {
            "resource": "/{proxy+}",
            "path": path,
            "httpMethod": method,
            "headers": sent,
            "multiValueHeaders": {name: [value] for name, value in sent.items()},
            "queryStringParameters": query,
            "multiValueQueryStringParameters": {k: [v] for k, v in (query or {}).items()} or None,
            "pathParameters": {"proxy": path.lstrip("/")},
            "stageVariables": None,
            "requestContext": {
                "resourcePath": "/{proxy+}",
                "httpMethod": method,
                "path": parts.path,
                "stage": self.stage,
                "requestId": str(uuid.uuid4()),
                "identity": {"sourceIp": "203.0.113.7", "userAgent": "rider"},
                "domainName": parts.netloc,
            },
            "body": json.dumps(body) if body is not None else None,
            "isBase64Encoded": False,
        }
        answer = self.lam.invoke(
            FunctionName=self.function, Qualifier="live", Payload=json.dumps(event).encode()
        )
        assert not answer.get("FunctionError"), answer
        response = json.loads(answer["Payload"].read())
        for cookie in response.get("multiValueHeaders", {}).get("Set-Cookie", []):
            name, value = cookie.split(";", 1)[0].strip().split("=", 1)
            assert "Path=/;" in cookie or cookie.endswith("Path=/"), cookie  # the whole host
            self.cookies[name] = value
        return response


def header(response: dict, name: str) -> str:
    return (response.get("multiValueHeaders", {}).get(name) or [None])[0] or response.get(
        "headers", {}
    ).get(name)


class TlsCluster(pgcluster.Cluster):
    """The stage's database as the function reaches it: TLS required (sslmode=require)."""

    def start(self) -> "TlsCluster":
        key, cert = self.root / "server.key", self.root / "server.crt"
        subprocess.run(
            [*OPENSSL_SELF_SIGNED, "-keyout", str(key), "-out", str(cert)],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        key.chmod(0o600)
        if os.geteuid() == 0:
            shutil.chown(key, "postgres")
            shutil.chown(cert, "postgres")
        self.settings.update(ssl="on", ssl_cert_file=cert, ssl_key_file=key)
        return super().start()


@pytest.fixture
def database():
    if not pgcluster.available() or not shutil.which("openssl"):
        message = "PostgreSQL binaries (initdb, pg_ctl) and openssl are needed"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    cluster = TlsCluster().start()
    try:
        with psycopg.connect(cluster.url, autocommit=True) as connection:
            connection.execute("CREATE DATABASE wildrydes")
        yield cluster
    finally:
        cluster.stop()


def test_make_deploy_runs_the_whole_stage_against_moto_and_the_real_package(
    monkeypatch, capsys, database
):
    # Imported here, as tests/aws/moto_stack.py does: moto's CloudFormation takes ~1.2 s
    # CPU to import, which every xdist worker paid at collection for this one test.
    from tests.aws import moto_gaps

    started = time.monotonic()
    stages = moto_stack.stage_module()
    moto_gaps.install()  # before the server starts
    with moto_stack.moto_server() as endpoint:
        # The stack's ids are baked into the stage's Zappa settings, and so into the zip's
        # inputs: with moto's random ids each run rendered other settings and rebuilt the
        # zip (~12 CPU-s). Seeded, a run renders the settings the last one did, and
        # deploy/package.sh keeps the zip built from them, as for a redeploy of an
        # unchanged stage; a changed checkout or template still rebuilds it.
        moto_stack.seed(endpoint, 2026)
        for name, value in moto_stack.FAKE_CREDENTIALS.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
        monkeypatch.setenv("AWS_REGION", moto_stack.REGION)  # as docs/deploy.md exports it
        monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        for name, value in moto_stack.BYTECODE_CACHE.items():  # zappa's processes
            monkeypatch.setenv(name, value)
        package = ROOT / "build" / f"wildrydes-{STAGE}.zip"
        vpc = {"PGHOSTADDR": "127.0.0.1", "PGPORT": str(database.port)}
        with LoopbackLambda(endpoint, package, vpc) as lambda_api:
            monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", lambda_api.url)

            # The first `make deploy STAGE=ci`: stack, package, zappa deploy, ..., the URL.
            assert stages.main(["deploy", STAGE]) == 0
            printed = capsys.readouterr().out
            aws = stages.session()
            account = stages.account_of(aws)
            function = stages.function_name(STAGE)
            lam = aws.client("lambda")
            first = lam.get_alias(FunctionName=function, Name="live")["FunctionVersion"]
            assert f"{STAGE} is at https://" in printed and f".amazonaws.com/{STAGE}/" in printed
            manage = [i["event"].get("manage") for i in lambda_api.invocations]
            assert "migrate --noinput" in manage  # in the function; the static files: below
            [health] = [i for i in lambda_api.invocations if i["event"].get("path")]
            assert health["qualifier"] == first
            with psycopg.connect(database.url.rsplit("/", 1)[0] + "/wildrydes") as connection:
                migrated = connection.execute("SELECT count(*) FROM django_migrations").fetchone()
            assert migrated[0] > 20
            s3 = aws.client("s3")
            files = stages.stack_outputs(aws, STAGE)["FilesBucketName"]
            assert s3.head_object(Bucket=files, Key="static/staticfiles.json")

            # A stage without a custom domain: the receipt e-mail links to the stage's own
            # URL (SITE_URL, set by the deploy once the API exists), and that link opens the
            # receipt through API Gateway under /ci/: sign-in redirect, page, static files,
            # cookies and a CSRF-checked POST all under the stage's prefix.
            url = stages.api_url(aws, STAGE)
            # API Gateway's own answers (the function crashed, timed out, the stage
            # throttled): a page linking the stage's home, or the API's {"detail": ...}.
            assert "API Gateway's own answers (a page, or" in printed
            apigateway = aws.client("apigateway")
            answer = apigateway.get_gateway_response(
                restApiId=stages.rest_api_id(aws, STAGE), responseType="DEFAULT_5XX"
            )
            trouble = "Wild Rydes is having trouble right now. Please try again in a moment."
            assert json.loads(answer["responseTemplates"]["application/json"]) == {
                "detail": trouble
            }
            assert trouble in answer["responseTemplates"]["text/html"]
            assert f'<a href="{url}/">' in answer["responseTemplates"]["text/html"]
            for qualifier in ("$LATEST", "live"):  # the queues' trigger, the API's alias
                configuration = lam.get_function_configuration(
                    FunctionName=function, Qualifier=qualifier
                )
                assert configuration["Environment"]["Variables"]["SITE_URL"] == url
            aws.client("ses").verify_domain_identity(Domain="wildrydes.example")
            answer = lam.invoke(
                FunctionName=function, Payload=json.dumps({"raw_command": SEND_A_RECEIPT})
            )
            assert not answer.get("FunctionError"), answer["Payload"].read()
            [receipt] = moto_stack.sent_emails("rider@example.com")
            [link] = re.findall(r"https://\S+", receipt)
            assert re.fullmatch(rf"{re.escape(url)}/history/[0-9a-f-]{{36}}/", link), link
            rider = Browser(lam, function, STAGE)
            page = rider("GET", link)
            assert page["statusCode"] == 302
            sign_in = urllib.parse.urljoin(link, header(page, "Location"))
            assert sign_in.startswith(f"{url}/signin/?next=")
            assert urllib.parse.parse_qs(urllib.parse.urlsplit(sign_in).query)["next"] == [
                urllib.parse.urlsplit(link).path
            ]
            page = rider("GET", sign_in)
            assert page["statusCode"] == 200
            assert "csrftoken" in rider.cookies, {k: v for k, v in page.items() if k != "body"}
            login_api = re.search(r'data-api-url="([^"]+)"', page["body"])[1]
            assert login_api == f"/{STAGE}/api/auth/login/"
            # The static files: the bucket's own URLs (moto's endpoint here), never the stage's.
            css = re.findall(r'<link[^>]+href="([^"]+\.css)"', page["body"])
            assert css
            for href in css:
                key = href.split(f"/{files}/", 1)[1]
                assert key.startswith("static/") and s3.head_object(Bucket=files, Key=key)
            origin = f"https://{urllib.parse.urlsplit(url).netloc}"
            csrf = {"X-CSRFToken": rider.cookies["csrftoken"], "Origin": origin}
            signed_in = rider(
                "POST",
                urllib.parse.urljoin(url, login_api),
                body={"email": "rider@example.com", "password": "wildrydes-demo"},
                headers={**csrf, "Referer": sign_in},
            )
            assert signed_in["statusCode"] == 200, signed_in["body"]
            assert "sessionid" in rider.cookies
            page = rider("GET", link)
            assert page["statusCode"] == 200, page["body"][:300]
            reference = re.search(r"Ride: (\S+)", receipt)[1]
            assert reference in page["body"]
            assert f'href="/{STAGE}/history/"' in page["body"]  # its links keep the stage
            csrf["X-CSRFToken"] = rider.cookies["csrftoken"]  # a new one since the sign-in
            signed_out = rider(
                "POST", f"{url}/api/auth/logout/", body={}, headers={**csrf, "Referer": link}
            )
            assert signed_out["statusCode"] == 200, signed_out["body"]
            capsys.readouterr()

            # The first operator: the password hashed here, only its hash sent to the function.
            monkeypatch.setenv("OPERATOR_PASSWORD", "unicorn-operator-2026")
            assert stages.main(["operator", STAGE, "--email", "ops@example.com"]) == 0
            events = [i["event"] for i in lambda_api.invocations]
            assert "unicorn-operator-2026" not in json.dumps(events)
            with psycopg.connect(database.url.rsplit("/", 1)[0] + "/wildrydes") as connection:
                [(stored, staff, superuser, groups)] = connection.execute(
                    "SELECT u.password, u.is_staff, u.is_superuser, array_agg(g.name)"
                    " FROM accounts_user u JOIN accounts_user_groups ug ON ug.user_id = u.id"
                    " JOIN auth_group g ON g.id = ug.group_id WHERE u.email = %s"
                    " GROUP BY u.id",
                    ["ops@example.com"],
                ).fetchall()
            assert PBKDF2PasswordHasher().verify("unicorn-operator-2026", stored)
            assert staff and superuser and groups == ["Operators"]
            capsys.readouterr()

            # A deploy while another one runs, or while a secret is scheduled for deletion
            # (the new version could not start): a sentence, and nothing changes.
            zappa_bucket = f"wildrydes-{STAGE}-zappa-{account}"
            s3.put_object(Bucket=zappa_bucket, Key="deploy.lock", Body=b'{"by": "bob@laptop"}')
            with pytest.raises(SystemExit, match="Another `make deploy STAGE=ci` is running"):
                stages.main(["deploy", STAGE])
            s3.delete_object(Bucket=zappa_bucket, Key="deploy.lock")
            secrets = aws.client("secretsmanager")
            django_secret = stages.stack_outputs(aws, STAGE)["DjangoSecretArn"]
            secrets.delete_secret(SecretId=django_secret, RecoveryWindowInDays=7)
            with pytest.raises(SystemExit, match=r"scheduled for deletion.*restore-secret"):
                stages.main(["deploy", STAGE])
            secrets.restore_secret(SecretId=django_secret)
            assert lam.get_alias(FunctionName=function, Name="live")["FunctionVersion"] == first
            assert "deploy.lock" not in str(s3.list_objects_v2(Bucket=zappa_bucket))
            capsys.readouterr()

            # The next release, as a canary: 10% for the bake time, no alarm, promoted.
            assert stages.main(["deploy", STAGE, *CANARY]) == 0
            printed = capsys.readouterr().out
            second = lam.get_alias(FunctionName=function, Name="live")["FunctionVersion"]
            assert int(second) > int(first)
            assert f"canary: 10% of requests to version {second}" in printed
            assert "promoting" in printed
            # Nothing changed since the first deploy: no static file uploaded again.
            assert "static files unchanged since they were collected" in printed
            assert "API Gateway's own answers" not in printed  # unchanged: no API deployment
            assert "deploy.lock" not in str(s3.list_objects_v2(Bucket=zappa_bucket))

            # A canary whose bake sees an alarm fire: back on the old version by itself.
            cloudwatch = aws.client("cloudwatch")
            cloudwatch.set_alarm_state(
                AlarmName=f"wildrydes-{STAGE}-api-5xx", StateValue="ALARM", StateReason="test"
            )
            assert not stages.bake(aws, STAGE, first, second, 10, 0.05, 1)
            assert "ROLLED BACK to version" in capsys.readouterr().out
            alias = lam.get_alias(FunctionName=function, Name="live")
            assert alias["FunctionVersion"] == first
            assert not alias.get("RoutingConfig", {}).get("AdditionalVersionWeights")
            stages.point_alias(lam, function, second)
            cloudwatch.set_alarm_state(
                AlarmName=f"wildrydes-{STAGE}-api-5xx", StateValue="OK", StateReason="test"
            )

            outputs = stages.stack_outputs(aws, STAGE)
            settings_file = ROOT / "build" / f"zappa_settings.{STAGE}.json"

            # Two stacks, never one name: Zappa's is named after the function.
            cloudformation = aws.client("cloudformation")
            names = {s["StackName"] for s in cloudformation.describe_stacks()["Stacks"]}
            assert {f"wildrydes-{STAGE}", f"wildrydes-{STAGE}-infra"} <= names
            zappa_resources = {
                r["LogicalResourceId"]
                for r in cloudformation.list_stack_resources(StackName=f"wildrydes-{STAGE}")[
                    "StackResourceSummaries"
                ]
            }
            assert "Api" in zappa_resources
            infra_resources = {
                r["LogicalResourceId"]
                for r in cloudformation.list_stack_resources(StackName=f"wildrydes-{STAGE}-infra")[
                    "StackResourceSummaries"
                ]
            }
            assert "Api" not in infra_resources and "Database" in infra_resources

            # The function as moto recorded it.
            iam = aws.client("iam")
            role_arn = iam.get_role(RoleName=f"wildrydes-{STAGE}-lambda")["Role"]["Arn"]
            config = lam.get_function_configuration(FunctionName=function)
            rendered = json.loads(settings_file.read_text())[STAGE]
            assert config["Handler"] == rendered.get("lambda_handler", "handler.lambda_handler")
            assert config["Role"] == role_arn
            assert config["Runtime"] == "python3.12"
            assert sorted(config["VpcConfig"]["SubnetIds"]) == sorted(
                outputs["FunctionSubnetIds"].split(",")
            )
            assert config["VpcConfig"]["SecurityGroupIds"] == [outputs["FunctionSecurityGroupId"]]
            secrets = aws.client("secretsmanager")
            secret_values = [
                secrets.get_secret_value(SecretId=outputs[key])["SecretString"]
                for key in ("DjangoSecretArn", "DatabaseSecretArn")
            ]
            password = json.loads(secret_values[1])["password"]
            configuration_text = json.dumps(config)
            for secret in (secret_values[0], password):
                assert secret not in configuration_text
                assert secret not in settings_file.read_text()
            with zipfile.ZipFile(package) as zf:
                baked = zf.read("zappa_settings.py").decode()
            assert outputs["DatabaseSecretArn"] in baked and outputs["DjangoSecretArn"] in baked
            assert secret_values[0] not in baked and password not in baked
            concurrency = lam.get_function_concurrency(FunctionName=function)
            wanted = int(outputs["FunctionConcurrency"])
            assert concurrency["ReservedConcurrentExecutions"] == wanted

            # Event sources: one per subscriber queue, partial batch responses on.
            mappings = lam.list_event_source_mappings(FunctionName=function)["EventSourceMappings"]
            queue_arns = {outputs["BiQueueArn"], outputs["NotificationsQueueArn"]}
            assert {m["EventSourceArn"] for m in mappings} == queue_arns
            assert all(m["FunctionResponseTypes"] == ["ReportBatchItemFailures"] for m in mappings)
            # The relay's schedule.
            events = aws.client("events")
            [rule] = [
                r
                for r in events.list_rules()["Rules"]
                if r["Name"].endswith("events.aws.relay_on_schedule")
            ]
            assert rule["ScheduleExpression"] == "rate(1 minute)"
            [target] = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
            assert target["Arn"].split(":function:")[1].split(":")[0] == function
            # The inbox trigger on the files bucket.
            notification = aws.client("s3").get_bucket_notification_configuration(
                Bucket=outputs["FilesBucketName"]
            )
            [trigger] = notification["LambdaFunctionConfigurations"]
            assert trigger["Events"] == ["s3:ObjectCreated:*"]
            assert trigger["LambdaFunctionArn"].split(":function:")[1].split(":")[0] == function
            rules = trigger["Filter"]["Key"]["FilterRules"]
            assert {"Name": "Prefix", "Value": "inbox/"} in [
                {"Name": r["Name"].capitalize(), "Value": r["Value"]} for r in rules
            ]

            # S3 and EventBridge may invoke the function (its resource policy, set by Zappa;
            # moto answers AddPermission 200 where Zappa expects 201, hence its "Problem
            # creating permission" lines, but records the statement).
            policy = json.loads(lam.get_policy(FunctionName=function)["Policy"])
            callers = {
                (s["Principal"]["Service"], s["Condition"]["ArnLike"]["AWS:SourceArn"])
                for s in policy["Statement"]
                if s["Action"] == "lambda:InvokeFunction"
            }
            bucket_arn = f"arn:aws:s3:::{outputs['FilesBucketName']}"
            assert ("s3.amazonaws.com", bucket_arn) in callers
            assert ("events.amazonaws.com", rule["Arn"]) in callers

            # The API: Zappa's integration calls the `live` alias with the function's role, which
            # API Gateway may assume and which may invoke the function and its alias.
            apigateway = aws.client("apigateway")
            assert [a for a in apigateway.get_rest_apis()["items"] if a["name"] == function]
            # moto's API Gateway drops an integration's credentials: read Zappa's template.
            body = cloudformation.get_template(StackName=f"wildrydes-{STAGE}")["TemplateBody"]
            template = body if isinstance(body, dict) else json.loads(body)
            integrations = [
                r["Properties"]["Integration"]
                for r in template["Resources"].values()
                if r["Type"] == "AWS::ApiGateway::Method"
            ]
            assert integrations
            for integration in integrations:
                assert integration["Credentials"] == role_arn
                assert f":function:{function}:live/invocations" in json.dumps(integration["Uri"])
            trust = iam.get_role(RoleName=f"wildrydes-{STAGE}-lambda")["Role"][
                "AssumeRolePolicyDocument"
            ]
            if isinstance(trust, str):
                trust = json.loads(trust)
            principals = [s["Principal"]["Service"] for s in trust["Statement"]]
            assert any("apigateway.amazonaws.com" in p for p in principals)
            assert any("lambda.amazonaws.com" in p for p in principals)
            function_arn = f"arn:aws:lambda:{aws.region_name}:{account}:function:{function}"
            granted = statements(iam, f"wildrydes-{STAGE}-lambda")
            assert allows(granted, "lambda:InvokeFunction", f"{function_arn}:live")
            for output in ("DjangoSecretArn", "DatabaseSecretArn"):
                assert allows(granted, "secretsmanager:GetSecretValue", outputs[output])
            assert allows(granted, "sns:Publish", outputs["EventsTopicArn"])
            assert allows(granted, "states:StartExecution", outputs["PaymentListStateMachineArn"])
            for queue in queue_arns:
                assert allows(granted, "sqs:ReceiveMessage", queue)
            # The state machine's role invokes the function, and nothing else.
            states = aws.client("stepfunctions")
            machine_role = states.describe_state_machine(
                stateMachineArn=outputs["PaymentListStateMachineArn"]
            )["roleArn"].rsplit("/", 1)[-1]
            [only] = statements(iam, machine_role)
            assert only["Action"] == "lambda:InvokeFunction"
            assert set(only["Resource"]) == {function_arn, f"{function_arn}:*"}

            # `make rollback STAGE=ci`: back to the version before the one the alias serves.
            assert stages.rollback(STAGE) == 0
            assert lam.get_alias(FunctionName=function, Name="live")["FunctionVersion"] == first
            # The alarms a canary watches are the stack's.
            alarms = aws.client("cloudwatch").describe_alarms(AlarmNamePrefix=f"wildrydes-{STAGE}-")
            assert len(alarms["MetricAlarms"]) >= 8

            # `make destroy STAGE=ci`: Zappa's function and API, then the stage's stack, gone.
            cloudformation = aws.client("cloudformation")
            assert stages.main(["destroy", STAGE, "--yes"]) == 0
            assert not stages.function_exists(lam, function)
            assert not stages.stack_exists(cloudformation, stages.stack_name(STAGE))
            assert not stages.stack_exists(cloudformation, function)  # Zappa's own stack
            assert f"{STAGE} destroyed" in capsys.readouterr().out
    capsys.readouterr()
    print(f"make deploy sequence against moto: {time.monotonic() - started:.1f} s")
