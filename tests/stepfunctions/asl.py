"""aws-local-stepfunctions and asl-validator (Node.js, this folder's package.json) driven
from Python: validate a definition, run executions whose Task states call a Lambda Invoke
API (tests/package/lambda_invoke_api.py), several in one node process (Interpreter). Where
node or the npm packages are missing the caller is skipped loudly, except in CI (CI=true),
where that is a failure.
"""

import functools
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.package import lambda_runtime as runtime
from tests.package.lambda_invoke_api import InvokeApi

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE / "node_modules"


def unavailable(reason: str):
    if runtime.IN_CI:
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


MINIMUM_NODE = 20  # the AWS SDK for JavaScript's; aws-local-stepfunctions' 22 is polyfilled


@functools.cache
def node() -> str:
    found = shutil.which("node")
    if not found:
        unavailable("node is not installed (Debian: nodejs)")
    version = subprocess.run([found, "--version"], capture_output=True, text=True).stdout
    if int(version.strip().lstrip("v").split(".")[0] or 0) < MINIMUM_NODE:
        unavailable(f"node {version.strip()} is older than {MINIMUM_NODE}")
    if not (NODE_MODULES / "aws-local-stepfunctions").is_dir():
        unavailable(f"the npm packages are not installed: run `npm ci` in {HERE}")
    return found


def validate(definition_file: Path) -> subprocess.CompletedProcess:
    """asl-validator's verdict on a definition file (returncode 0: valid)."""
    return subprocess.run(
        [node(), str(NODE_MODULES / ".bin" / "asl-validator"), "--json-path", definition_file],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=60,
    )


class Interpreter(runtime.LineChild):
    """aws-local-stepfunctions in one node process (run_execution.mjs) that runs any number of
    executions, one at a time, whose Task states call `invoke_api`: node, the AWS SDK and the
    interpreter load once (~1 s CPU), not once an execution."""

    timeout = 600  # seconds one execution may take

    def __init__(self, invoke_api: InvokeApi):
        env = {
            "PATH": "/usr/bin:/bin",
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_LAMBDA": invoke_api.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
        log = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed by close())
        super().__init__([node(), str(HERE / "run_execution.mjs")], log, cwd=HERE, env=env)

    def run(self, definition_file: Path, state_input: dict, *, tasks: str = "sdk") -> dict:
        """One execution; `tasks="interpreter"` lets aws-local-stepfunctions make the Lambda
        calls itself (see run_execution.mjs for why the default makes them)."""
        request = {"definition": str(definition_file), "input": state_input, "tasks": tasks}
        line = self.ask(request, self.timeout)
        assert line, f"the ASL interpreter died or hung:\n{self.log_tail()}"
        answer = json.loads(line)
        assert "harness_error" not in answer, answer["harness_error"] + self.log_tail()
        return answer

    def __enter__(self) -> "Interpreter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def run_execution(
    definition_file: Path, invoke_api: InvokeApi, state_input: dict, *, tasks: str = "sdk"
) -> dict:
    """One execution in an interpreter of its own (Interpreter.run, for several)."""
    with Interpreter(invoke_api) as interpreter:
        return interpreter.run(definition_file, state_input, tasks=tasks)


def states_entered(execution: dict) -> list[str]:
    return [e["state"]["name"] for e in execution["events"] if e["type"] == "StateEntered"]


def event_types(execution: dict) -> list[str]:
    return [e["type"] for e in execution["events"]]
