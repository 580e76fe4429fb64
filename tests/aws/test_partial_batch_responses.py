"""deploy/partial_batch_responses.py turns ReportBatchItemFailures on for the stage's SQS
event source mappings (as Zappa creates them, without it), against moto."""

import importlib.util
import io
import zipfile

import pytest

from tests.aws import moto_stack

pytestmark = pytest.mark.filterwarnings(moto_stack.IGNORE_UNSUPPORTED)


def script():
    path = moto_stack.ROOT / "deploy" / "partial_batch_responses.py"
    spec = importlib.util.spec_from_file_location("partial_batch_responses", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_partial_batch_responses_are_switched_on_for_each_subscriber_queue(monkeypatch):
    with moto_stack.moto_server(moto_stack.account_of("dev")) as endpoint:
        for name, value in moto_stack.FAKE_CREDENTIALS.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
        monkeypatch.setenv("AWS_DEFAULT_REGION", moto_stack.REGION)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        stack = moto_stack.create_stack(endpoint, "dev")
        lam = moto_stack.client("lambda", endpoint)
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as zf:
            zf.writestr("handler.py", "def lambda_handler(event, context):\n    return {}\n")
        role = moto_stack.client("iam", endpoint).get_role(RoleName="wildrydes-dev-lambda")
        lam.create_function(
            FunctionName="wildrydes-dev",
            Runtime="python3.12",
            Role=role["Role"]["Arn"],
            Handler="handler.lambda_handler",
            Code={"ZipFile": code.getvalue()},
        )
        for name in stack.queue_urls:  # what Zappa's SqsEventSource creates
            lam.create_event_source_mapping(
                FunctionName="wildrydes-dev", EventSourceArn=stack.queue_arn(name), BatchSize=10
            )

        assert script().main(["dev"]) == 0

        mappings = lam.list_event_source_mappings(FunctionName="wildrydes-dev")
        assert len(mappings["EventSourceMappings"]) == len(stack.queue_urls)
        for mapping in mappings["EventSourceMappings"]:
            current = lam.get_event_source_mapping(UUID=mapping["UUID"])
            assert current["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert script().main(["dev"]) == 0  # idempotent
