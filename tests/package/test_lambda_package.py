"""The Lambda package: what `make package` builds is what API Gateway runs on AWS.

The zip (build/wildrydes-dev.zip) is built with deploy/package.sh unless one newer than every
source file and the lock is already there. Zappa's real handler then runs from the unzipped
package in a bare interpreter that sees only the package, the standard library and the
boto3 the Lambda runtime provides. Where the package cannot be built the tests are skipped
loudly, except in CI (CI=true), where that is a failure.
"""

import importlib.util
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "build" / "wildrydes-dev.zip"
IN_CI = os.environ.get("CI", "").lower() == "true"
API_HOST = "abc123.execute-api.us-east-1.amazonaws.com"

pytestmark = [pytest.mark.package, pytest.mark.xdist_group("lambda-package")]

# Folders whose changes cannot change the zip (besides hidden ones: .git, .venv*, caches).
NOT_PACKAGED = {"tests", "docs", "bench", "build", "dist", "media", "staticfiles", "__pycache__"}
# What the python3.11 runtime provides next to the function's code (its /var/runtime).
LAMBDA_RUNTIME_MODULES = [
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "dateutil",
    "six",
    "urllib3",
]
DEV_ONLY = {
    "pytest", "_pytest", "pytest_django", "xdist", "pytest_xdist", "factory", "factory_boy",
    "faker", "moto", "playwright", "ruff", "uv", "gunicorn", "hypothesis", "coverage",
    "tests", "pip", "setuptools", "wheel", "troposphere", "boto3", "botocore",
}  # fmt: skip


def newest_source_change() -> float:
    newest = (ROOT / "requirements" / "deploy.txt").stat().st_mtime
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if not d.startswith(".") and d not in NOT_PACKAGED]
        for name in files:
            if name.startswith(".") or name.endswith((".pyc", ".md")) or ".sqlite3" in name:
                continue
            try:
                newest = max(newest, (Path(folder) / name).stat().st_mtime)
            except OSError:  # removed while we looked
                continue
    return newest


@pytest.fixture(scope="module")
def package() -> Path:
    if PACKAGE.exists() and PACKAGE.stat().st_mtime > newest_source_change():
        return PACKAGE
    try:
        build = subprocess.run(
            ["bash", "deploy/package.sh", "dev"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
        )
        built, log = build.returncode == 0 and PACKAGE.exists(), build.stdout + build.stderr
    except (OSError, subprocess.TimeoutExpired) as error:
        built, log = False, str(error)
    if not built:
        message = f"deploy/package.sh could not build the Lambda package:\n{log[-4000:]}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return PACKAGE


@pytest.fixture(scope="module")
def lambda_root(package, tmp_path_factory) -> Path:
    """The package unzipped (/var/task) next to the runtime's boto3 (/var/runtime)."""
    root = tmp_path_factory.mktemp("lambda")
    with zipfile.ZipFile(package) as zf:
        zf.extractall(root / "task")
    runtime = root / "runtime"
    runtime.mkdir()
    for name in LAMBDA_RUNTIME_MODULES:
        spec = importlib.util.find_spec(name)
        assert spec and spec.origin, f"{name} (provided by Lambda) is missing from the dev venv"
        source = Path(spec.origin)
        if spec.submodule_search_locations:  # a package, not a single module
            source = source.parent
        (runtime / source.name).symlink_to(source)
    return root


def bare_python() -> str:
    """The interpreter the venv was made from: no site-packages once run with -I -S."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidate = Path(sys.base_prefix) / "bin" / version
    return str(candidate) if candidate.exists() else sys.executable


def lambda_environment(root: Path) -> dict:
    """Secrets come from the Lambda configuration on AWS, never from the package."""
    return {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "wildrydes-dev",
        "LAMBDA_TASK_ROOT": str(root / "task"),
        "DJANGO_SECRET_KEY": "package-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DATABASE_URL": f"sqlite:///{root / 'lambda.sqlite3'}",
    }


def api_gateway_event(method: str, path: str) -> dict:
    """An API Gateway REST API (v1) proxy event, as Zappa's /{proxy+} resource receives it."""
    headers = {
        "Accept": "application/json",
        "Host": API_HOST,
        "User-Agent": "wildrydes-package-test",
        "X-Amzn-Trace-Id": "Root=1-5f84c7a9-0123456789abcdef01234567",
        "X-Forwarded-For": "203.0.113.7, 130.176.0.1",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourceId": "a1b2c3",
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "extendedRequestId": "BQGoJHbzoAMFXvw=",
            "requestTime": "24/Nov/2026:01:00:00 +0000",
            "path": f"/dev{path}",
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": "dev",
            "domainPrefix": "abc123",
            "requestTimeEpoch": 1795568400000,
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "wildrydes-package-test"},
            "domainName": API_HOST,
            "apiId": "abc123",
        },
        "body": None,
        "isBase64Encoded": False,
    }


def invoke(lambda_root: Path, event: dict) -> dict:
    result_file = lambda_root / "result.json"
    run = subprocess.run(
        [
            bare_python(),
            "-I",
            "-S",
            "-B",
            str(Path(__file__).with_name("invoke_handler.py")),
            str(lambda_root / "task"),
            str(lambda_root / "runtime"),
            str(result_file),
        ],
        input=json.dumps(event),
        env=lambda_environment(lambda_root),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, f"the handler crashed:\n{run.stdout}\n{run.stderr}"
    return json.loads(result_file.read_text())


def test_packaged_handler_answers_the_api_gateway_health_check(lambda_root):
    result = invoke(lambda_root, api_gateway_event("GET", "/api/health/"))

    response = result["response"]
    assert response["statusCode"] == 200, response
    assert json.loads(response["body"]) == {"status": "ok", "database": "ok"}
    assert result["foreign_modules"] == []


def test_packaged_postgresql_driver_loads_its_binary_build(lambda_root):
    code = "import sys; sys.path.insert(0, sys.argv[1]); import psycopg; print(psycopg.pq.__impl__)"
    run = subprocess.run(
        [bare_python(), "-I", "-S", "-B", "-c", code, str(lambda_root / "task")],
        env=lambda_environment(lambda_root),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.stdout.strip() == "binary", run.stderr


def distribution_name(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def test_package_ships_every_production_dependency(package):
    """zappa_settings.json drops Zappa's own dependencies; never one production needs too."""
    lock = (ROOT / "requirements" / "prod.txt").read_text()
    production = {distribution_name(n) for n in re.findall(r"^([A-Za-z0-9_.-]+)==", lock, re.M)}
    with zipfile.ZipFile(package) as zf:
        shipped = {
            distribution_name(name.split("-", 1)[0])
            for name in zf.namelist()
            if name.split("/")[0].endswith(".dist-info")
        }
    assert sorted(production - shipped) == []


def test_package_ships_no_test_or_dev_tools_nor_local_data(package):
    with zipfile.ZipFile(package) as zf:
        names = zf.namelist()
    top_level = {name.split("/")[0] for name in names}
    distributions = {re.split(r"[-.]", name)[0].lower() for name in top_level}

    assert sorted(distributions & DEV_ONLY) == []
    assert [n for n in names if ".sqlite3" in n or Path(n).name.startswith(".env")] == []


def glibc_needed(platform_tag: str) -> tuple[int, int] | None:
    """The glibc an x86_64 manylinux wheel needs; None for any other platform."""
    legacy = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
    match = re.fullmatch(r"manylinux(1|2010|2014|_(\d+)_(\d+))_x86_64", platform_tag)
    if not match:
        return None
    return (int(match[2]), int(match[3])) if match[2] else legacy[f"manylinux{match[1]}"]


def test_compiled_dependencies_target_lambdas_amazon_linux_2_x86_64(package):
    """The python3.11 runtime is Amazon Linux 2: x86_64 with glibc 2.26."""
    unfit = []
    with zipfile.ZipFile(package) as zf:
        for name in zf.namelist():
            if not name.endswith(".dist-info/WHEEL"):
                continue
            platforms = re.findall(r"^Tag: \S+-\S+-(\S+)$", zf.read(name).decode(), re.M)
            if all(platform == "any" for platform in platforms):
                continue
            needs = [glibc_needed(platform) for platform in platforms]
            if not any(need and need <= (2, 26) for need in needs):
                unfit.append(f"{name.split('/')[0]}: {platforms}")
    assert unfit == []
