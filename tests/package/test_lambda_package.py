"""The Lambda package: what `make package` builds is what API Gateway runs on AWS.

The zip (build/wildrydes-dev.zip) is built with deploy/package.sh unless one built from the
same sources, lock and settings is already there. Zappa's real handler then runs from the unzipped
package in a bare interpreter that sees only the package, the standard library and the
boto3 the Lambda runtime provides. Where the package cannot be built the tests are skipped
loudly, except in CI (CI=true), where that is a failure. The flows through AWS services are
in test_lambda_flows.py.
"""

import json
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.package import lambda_runtime as runtime

ROOT = runtime.ROOT

pytestmark = [pytest.mark.package, pytest.mark.xdist_group("lambda-package")]

DEV_ONLY = {
    "pytest", "_pytest", "pytest_django", "xdist", "pytest_xdist", "factory", "factory_boy",
    "faker", "moto", "playwright", "ruff", "uv", "gunicorn", "hypothesis", "coverage",
    "tests", "pip", "setuptools", "wheel", "troposphere", "boto3", "botocore", "cfnlint",
}  # fmt: skip
# Production dependencies the Lambda runtime provides (boto3 and what it needs): the
# package leaves them out and the function imports the runtime's (see zappa_settings.json).
PROVIDED_BY_LAMBDA = {
    "boto3", "botocore", "s3transfer", "jmespath", "python_dateutil", "six", "urllib3",
}  # fmt: skip


@pytest.fixture(scope="module")
def package() -> Path:
    return runtime.ensure_package()


@pytest.fixture(scope="module")
def lambda_root(package):
    root = runtime.unpack(package)
    yield root
    runtime.remove(root)


def test_packaged_handler_answers_the_api_gateway_health_check_from_a_cold_start(lambda_root):
    function = runtime.LambdaProcess(
        lambda_root, runtime.lambda_environment(lambda_root, f"sqlite:///{lambda_root}/h.db")
    )
    try:
        answer = function.invoke(runtime.api_event("GET", "/api/health/"))
    finally:
        function.close()

    response = answer["response"]
    assert response["statusCode"] == 200, answer
    assert json.loads(response["body"]) == {"status": "ok", "database": "ok"}
    assert answer["foreign_modules"] == []
    # boto3 is the runtime's, loaded when the app first talks to AWS, not at start-up.
    assert answer["boto3_loaded"] is False


def test_packaged_postgresql_driver_loads_its_binary_build(lambda_root):
    code = "import sys; sys.path.insert(0, sys.argv[1]); import psycopg; print(psycopg.pq.__impl__)"
    run = subprocess.run(
        [runtime.bare_python(), "-I", "-S", "-B", "-c", code, str(lambda_root / "task")],
        env=runtime.lambda_environment(lambda_root, "sqlite:///unused"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.stdout.strip() == "binary", run.stderr


def test_packaged_bytecode_is_used_as_is(package):
    """Every module ships an unchecked-hash .pyc (flags 0b01 in its header): Python loads
    it without looking at the source's 1980 timestamp Zappa wrote, for the runtime's own
    Python (python3.12 -> cpython-312: another minor version would ignore them)."""
    tag = "cpython-" + runtime.lambda_runtime().removeprefix("python").replace(".", "")
    with zipfile.ZipFile(package) as zf:
        names = set(zf.namelist())
        sources = [n for n in names if n.endswith(".py")]
        missing = [
            n
            for n in sources
            if f"{n.rsplit('/', 1)[0] + '/' if '/' in n else ''}__pycache__/"
            f"{Path(n).stem}.{tag}.pyc" not in names
        ]
        flags = {int.from_bytes(zf.read(n)[4:8], "little") for n in names if n.endswith(".pyc")}
    assert len(missing) < len(sources) * 0.01, missing[:20]
    assert flags == {0b01}


def test_package_ships_only_the_english_translations(package):
    with zipfile.ZipFile(package) as zf:
        languages = {
            match[1]
            for name in zf.namelist()
            if (match := re.search(r"locale/([^/]+)/LC_MESSAGES/", name))
        }
    assert languages and all(language.split("_")[0] == "en" for language in languages)


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
    assert sorted(production - shipped - PROVIDED_BY_LAMBDA) == []
    assert sorted(shipped & PROVIDED_BY_LAMBDA) == []  # the runtime's copy is the one used


def test_package_ships_no_test_or_dev_tools_nor_local_data(package):
    with zipfile.ZipFile(package) as zf:
        names = zf.namelist()
    top_level = {name.split("/")[0] for name in names}
    distributions = {re.split(r"[-.]", name)[0].lower() for name in top_level}

    assert sorted(distributions & DEV_ONLY) == []
    assert [n for n in names if ".sqlite3" in n or Path(n).name.startswith(".env")] == []


# What the zip must not carry (zappa_settings.json "exclude"), and its size bound.
MAX_ZIPPED_MIB = 15
NOT_IN_THE_ZIP = {
    # Collected to the stage's bucket from the deployer's machine (deploy/stage.py).
    "static files": lambda name: "static" in name.split("/")[:-1],
    "the API docs' Swagger UI and Redoc": lambda name: name.startswith("drf_spectacular_sidecar"),
    "django-leaflet (the pages use the vendored Leaflet)": lambda name: name.startswith(
        ("leaflet/", "django_leaflet")
    ),
    "the X-Ray SDK": lambda name: name.startswith("aws_xray_sdk"),
    "tests, load and bench scripts": lambda name: (
        name.split("/")[0] in {"tests", "load", "bench", ".hypothesis"}
    ),
}


def test_package_leaves_out_what_the_function_never_serves(package):
    with zipfile.ZipFile(package) as zf:
        names = zf.namelist()
    found = {what: [n for n in names if carried(n)][:5] for what, carried in NOT_IN_THE_ZIP.items()}
    assert {what: some for what, some in found.items() if some} == {}
    assert package.stat().st_size <= MAX_ZIPPED_MIB * 2**20


def glibc_needed(platform_tag: str) -> tuple[int, int] | None:
    """The glibc an x86_64 manylinux wheel needs; None for any other platform."""
    legacy = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
    match = re.fullmatch(r"manylinux(1|2010|2014|_(\d+)_(\d+))_x86_64", platform_tag)
    if not match:
        return None
    return (int(match[2]), int(match[3])) if match[2] else legacy[f"manylinux{match[1]}"]


def test_compiled_dependencies_target_lambdas_amazon_linux_2023_x86_64(package):
    """The python3.12 runtime is Amazon Linux 2023: x86_64 with glibc 2.34."""
    unfit = []
    with zipfile.ZipFile(package) as zf:
        for name in zf.namelist():
            if not name.endswith(".dist-info/WHEEL"):
                continue
            platforms = re.findall(r"^Tag: \S+-\S+-(\S+)$", zf.read(name).decode(), re.M)
            if all(platform == "any" for platform in platforms):
                continue
            needs = [glibc_needed(platform) for platform in platforms]
            if not any(need and need <= (2, 34) for need in needs):
                unfit.append(f"{name.split('/')[0]}: {platforms}")
    assert unfit == []
