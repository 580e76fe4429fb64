"""aws-local-stepfunctions and asl-validator (Node.js, this folder's package.json) driven
from Python: validate a definition, run one execution whose Task states call a Lambda Invoke
API (tests/package/lambda_invoke_api.py). Where node or the npm packages are missing the
caller is skipped loudly, except in CI (CI=true), where that is a failure.
"""

import functools
import json
import shutil
import subprocess
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


def run_execution(
    definition_file: Path, invoke_api: InvokeApi, state_input: dict, *, tasks: str = "sdk"
) -> dict:
    """One execution; `tasks="interpreter"` lets aws-local-stepfunctions make the Lambda
    calls itself (see run_execution.mjs for why the default makes them)."""
    env = {
        "ASL_TASKS": tasks,
        "PATH": "/usr/bin:/bin",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_LAMBDA": invoke_api.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    run = subprocess.run(
        [node(), str(HERE / "run_execution.mjs"), str(definition_file), json.dumps(state_input)],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def states_entered(execution: dict) -> list[str]:
    return [e["state"]["name"] for e in execution["events"] if e["type"] == "StateEntered"]


def event_types(execution: dict) -> list[str]:
    return [e["type"] for e in execution["events"]]
