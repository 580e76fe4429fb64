"""`make deploy STAGE=ci`'s steps (deploy/stage.py) against moto's server: the stage's own
stack, the rendered Zappa settings, the package, Zappa's real `deploy` then `update` against
the same endpoint (AWS_ENDPOINT_URL), partial batch responses, reserved concurrency, the
`live` alias and a canary; then what moto recorded.

Not yet run here (see docs/deploy.md, "What the harness proves"): the steps that invoke the
function (`zappa manage migrate|collectstatic`, the health check through the alias), which
need a loopback Lambda Invoke API in front of moto and the package's database reachable.
moto's gaps are filled in the harness only (tests/aws/moto_gaps.py).
"""

import json
import time
import zipfile

import pytest

from tests.aws import moto_gaps, moto_stack

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


def test_make_deploy_creates_its_own_stack_then_zappa_deploys_and_updates_against_it(
    monkeypatch, capsys
):
    started = time.monotonic()
    stages = moto_stack.stage_module()
    moto_gaps.install()  # before the server starts
    with moto_stack.moto_server() as endpoint:
        for name, value in moto_stack.FAKE_CREDENTIALS.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
        monkeypatch.setenv("AWS_DEFAULT_REGION", moto_stack.REGION)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        aws = stages.session()
        account = stages.account_of(aws)
        function = stages.function_name(STAGE)

        # 1-3: the stage's stack, its Zappa settings, the package, `zappa deploy`.
        stages.ensure_stack(aws, STAGE, {"Stage": STAGE})
        outputs = stages.stack_outputs(aws, STAGE)
        settings_file = stages.write_settings(
            STAGE, stages.render_settings(STAGE, account, aws.region_name, outputs)
        )
        package = stages.package(STAGE, settings_file)
        stages.zappa("deploy", STAGE, "-z", str(package), settings_file=settings_file)
        # 4: what Zappa cannot set.
        assert stages.partial_batch_responses.main([STAGE, "--settings", str(settings_file)]) == 0
        stages.reserve_concurrency(aws, function, int(outputs["FunctionConcurrency"]))
        lam = aws.client("lambda")
        first = stages.newest_version(lam, function)
        stages.point_alias(lam, function, first)

        # The next release: the stack is unchanged, Zappa updates (its own stack too).
        stages.ensure_stack(aws, STAGE, {"Stage": STAGE})
        stages.zappa("update", STAGE, "-z", str(package), settings_file=settings_file)
        assert stages.partial_batch_responses.main([STAGE, "--settings", str(settings_file)]) == 0
        # `zappa update` clears reserved concurrency (it has no lambda_concurrency): re-set.
        stages.reserve_concurrency(aws, function, int(outputs["FunctionConcurrency"]))
        second = stages.newest_version(lam, function)
        assert int(second) > int(first)

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
        assert config["Runtime"] == "python3.11"
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
        assert concurrency["ReservedConcurrentExecutions"] == int(outputs["FunctionConcurrency"])

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

        # A canary: 10% to the new version, then `make rollback` back to the old one.
        stages.point_alias(lam, function, first, (second, 0.1))
        alias = lam.get_alias(FunctionName=function, Name="live")
        assert alias["FunctionVersion"] == first
        assert alias["RoutingConfig"]["AdditionalVersionWeights"] == {second: 0.1}
        assert stages.rollback(STAGE) == 0  # a canary in flight: cancelled
        alias = lam.get_alias(FunctionName=function, Name="live")
        assert alias["FunctionVersion"] == first
        assert not alias.get("RoutingConfig", {}).get("AdditionalVersionWeights")
        stages.point_alias(lam, function, second)
        assert stages.rollback(STAGE) == 0  # promoted: back to the version before
        assert lam.get_alias(FunctionName=function, Name="live")["FunctionVersion"] == first
        # The alarms a canary watches are the stack's.
        alarms = aws.client("cloudwatch").describe_alarms(AlarmNamePrefix=f"wildrydes-{STAGE}-")
        assert len(alarms["MetricAlarms"]) >= 8
    capsys.readouterr()
    print(f"make deploy sequence against moto: {time.monotonic() - started:.1f} s")
