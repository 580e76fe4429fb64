"""The Lambda package: its size, its cold start and its per-request cost, against a bare
Python Lambda handler that does the same database insert.

    .venv/bin/python bench/lambda_bench.py [--rebuild] [--cold-runs 5] [--requests 1000]

`main()` prints a table and returns the figures as a dict (bench/run.py records them).

- Size: build/wildrydes-dev.zip (built by deploy/package.sh when missing, or --rebuild),
  zipped and unzipped.
- Cold start (wall and CPU time; CPU time is the steadier figure on a busy machine): a
  fresh bare interpreter that sees only the unzipped package and the
  runtime's boto3 (as on Lambda) imports Zappa's handler.py and serves its first request,
  `POST /api/unicorn-applications/` (one INSERT) as an API Gateway proxy event. Timed inside
  the process, from before the import to the response (the interpreter's own start-up is
  the same for both sides and is shown apart); median of several runs. The same again
  without the package's bytecode shows what compiling it after packaging saves, and with
  boto3 imported first what the package's lazy boto3 in zappa/utilities.py saves.
- Warm: then the same process serves many more such POSTs; p50 of the time in
  lambda_handler per request, and of the same request handed straight to Django's WSGI
  app: their difference is what the Lambda entry point (Zappa's event -> WSGI -> response
  translation, its access log line) adds per request.
- The bare handler: a plain `handler(event, context)` that parses the body and INSERTs the
  same row with sqlite3 into the same SQLite file (WAL, BEGIN IMMEDIATE, as Django does).

The package's environment names the dev stage's AWS resources; the bench clears them
(events in-process, files on disk) so nothing leaves the machine. Takes about a minute.
"""

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "build" / "wildrydes-dev.zip"
RUNTIME_MODULES = ["boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3"]
GOALS = {"zip_mb": 20.0, "cold_ratio": 3.0, "warm_overhead_p50_ms": 1.0}
# Cleared in the package's baked-in environment (zappa_settings.py) for the bench.
LOCAL_OVERRIDES = {
    "EVENTS_SNS_TOPIC_ARN": "",
    "AWS_STORAGE_BUCKET_NAME": "",
    "PAYMENT_LIST_STATE_MACHINE_ARN": "",
    "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
}

BARE_HANDLER = '''
"""A bare Lambda handler: the same INSERT as POST /api/unicorn-applications/."""
import datetime
import json
import os
import sqlite3

_connection = None


def handler(event, context):
    global _connection
    if _connection is None:
        _connection = sqlite3.connect(os.environ["BENCH_SQLITE"], isolation_level=None)
        _connection.executescript(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
        )
    data = json.loads(event["body"])
    if data.get("gender") not in ("male", "female", "nonbinary") or "@" not in data["email"]:
        return {"statusCode": 400, "body": json.dumps({"detail": "Invalid application."})}
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(" ")
    _connection.execute("BEGIN IMMEDIATE")
    cursor = _connection.execute(
        "INSERT INTO rides_unicornapplication"
        " (name, color, gender, email, motivation, status, submitted_at)"
        " VALUES (?, ?, ?, ?, ?, 'pending', ?)",
        (data["name"].strip(), data["color"].strip(), data["gender"], data["email"],
         data.get("motivation", ""), now),
    )
    _connection.execute("COMMIT")
    body = {"id": cursor.lastrowid, "status": "pending", "detail": "Thank you!"}
    return {"statusCode": 201, "headers": {"Content-Type": "application/json"},
            "body": json.dumps(body)}
'''

# Run by a bare interpreter (-I -S -B): argv = kind, task root, runtime dir, requests.
CHILD = r"""
import json, os, sys, time
kind, task, runtime, requests = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
sys.path[:0] = [task, runtime]
os.chdir(task)
event = json.loads(os.environ["BENCH_EVENT"])
class Context:
    function_name = "wildrydes-dev"
    aws_request_id = "bench"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:wildrydes-dev"
    def get_remaining_time_in_millis(self):
        return 30000
context = Context()
started, cpu_started = time.perf_counter(), time.process_time()
if os.environ.get("BENCH_EAGER_BOTO3"):
    import boto3  # what Zappa's own zappa.utilities does without the package's lazy patch
if kind == "django":
    import zappa_settings
    zappa_settings.ENVIRONMENT_VARIABLES.update(json.loads(os.environ["BENCH_OVERRIDES"]))
    import handler
    handle = handler.lambda_handler
else:
    import bare_handler
    handle = bare_handler.handler
if os.environ.get("BENCH_SETUP"):
    handle({"manage": "migrate --noinput"}, context)
    print(json.dumps({}))
    sys.exit(0)
first = handle(event, context)
cold, cold_cpu = time.perf_counter() - started, time.process_time() - cpu_started
assert first["statusCode"] == 201, first
warm, wsgi = [], []
if kind == "django" and requests:
    # The same request straight into Django's WSGI app, without Zappa's event translation,
    # alternating with the one through the handler so both see the same machine.
    import io
    from django.core.wsgi import get_wsgi_application
    app = get_wsgi_application()
    zappa = handler.LambdaHandler()
    environ = zappa._create_lambda_wsgi_environ(event, context, "/dev", zappa.settings)
    body = environ["wsgi.input"].read()
    statuses = []
    def start_response(status, headers, exc_info=None):
        statuses.append(status)
for _ in range(requests):
    t = time.perf_counter()
    response = handle(event, context)
    warm.append(time.perf_counter() - t)
    assert response["statusCode"] == 201, response
    if kind == "django":
        t = time.perf_counter()
        b"".join(app(dict(environ, **{"wsgi.input": io.BytesIO(body)}), start_response))
        wsgi.append(time.perf_counter() - t)
        assert statuses[-1].startswith("201"), statuses[-1]
print(json.dumps({"cold": cold, "cold_cpu": cold_cpu, "warm": warm, "wsgi": wsgi}))
"""

APPLICATION = {
    "name": "Bench",
    "color": "silver",
    "gender": "female",
    "email": "bench@example.com",
    "motivation": "Speed.",
}


def api_event(path: str, body: dict) -> dict:
    host = "abc123.execute-api.us-east-1.amazonaws.com"
    headers = {
        "Host": host,
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-For": "203.0.113.7",
    }
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {"stage": "dev", "identity": {"sourceIp": "203.0.113.7"}},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def package(rebuild: bool) -> Path:
    if rebuild or not PACKAGE.exists():
        subprocess.run(["bash", "deploy/package.sh", "dev"], cwd=ROOT, check=True)
    return PACKAGE


def unpack(zip_path: Path, into: Path) -> tuple[Path, Path]:
    task, runtime = into / "task", into / "runtime"
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(task)
    runtime.mkdir()
    for name in RUNTIME_MODULES:  # what Lambda's python3.11 runtime provides
        spec = importlib.util.find_spec(name)
        source = Path(spec.origin)
        if spec.submodule_search_locations:
            source = source.parent
        (runtime / source.name).symlink_to(source)
    return task, runtime


def bare_python() -> str:
    candidate = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    return str(candidate) if candidate.exists() else sys.executable


def run_child(kind: str, task: Path, runtime: Path, env: dict, requests: int) -> dict:
    started = time.perf_counter()
    run = subprocess.run(
        [
            bare_python(),
            "-I",
            "-S",
            "-B",
            "-c",
            CHILD,
            kind,
            str(task),
            str(runtime),
            str(requests),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if run.returncode != 0:
        raise RuntimeError(f"{kind} failed:\n{run.stderr[-4000:]}")
    result = json.loads(run.stdout.strip().splitlines()[-1])
    result["process"] = time.perf_counter() - started
    return result


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def scratch() -> Path:
    shm = Path("/dev/shm")  # noqa: S108 (mkdtemp makes a private folder in it)
    base = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="wildrydes-lambda-bench-", dir=base))


def measure(cold_runs: int, requests: int, rebuild: bool) -> dict:
    zip_path = package(rebuild)
    with zipfile.ZipFile(zip_path) as zf:
        entries = zf.infolist()
    figures = {
        "zip_mb": zip_path.stat().st_size / 1e6,
        "zip_mib": zip_path.stat().st_size / 2**20,
        "unzipped_mib": sum(e.file_size for e in entries) / 2**20,
        "files": len(entries),
    }
    root = scratch()
    try:
        task, runtime = unpack(zip_path, root)
        (root / "bare").mkdir()
        (root / "bare" / "bare_handler.py").write_text(BARE_HANDLER)
        # The same package without its bytecode: what Zappa alone would ship.
        no_pyc = root / "task-no-bytecode"
        shutil.copytree(task, no_pyc, ignore=shutil.ignore_patterns("__pycache__"))
        database = root / "bench.sqlite3"
        env = {
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "DJANGO_SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-0123",
            "DATABASE_URL": f"sqlite:///{database}",
            "BENCH_SQLITE": str(database),
            "BENCH_EVENT": json.dumps(api_event("/api/unicorn-applications/", APPLICATION)),
            "BENCH_OVERRIDES": json.dumps(LOCAL_OVERRIDES),
        }
        run_child("django", task, runtime, {**env, "BENCH_SETUP": "1"}, 0)  # migrate

        runs = {"django": [], "bare": [], "django_no_bytecode": [], "django_eager_boto3": []}
        eager = {**env, "BENCH_EAGER_BOTO3": "1"}
        for _ in range(cold_runs):  # interleaved, so all see the same machine
            runs["django"].append(run_child("django", task, runtime, env, 0))
            runs["bare"].append(run_child("bare", root / "bare", runtime, env, 0))
            runs["django_no_bytecode"].append(run_child("django", no_pyc, runtime, env, 0))
            runs["django_eager_boto3"].append(run_child("django", task, runtime, eager, 0))
        figures["cold_start_s"] = {
            kind: statistics.median(r["cold"] for r in results) for kind, results in runs.items()
        }
        figures["cold_start_cpu_s"] = {
            kind: statistics.median(r["cold_cpu"] for r in results)
            for kind, results in runs.items()
        }
        figures["cold_process_s"] = {
            kind: statistics.median(r["process"] for r in results) for kind, results in runs.items()
        }
        figures["cold_ratio"] = figures["cold_start_s"]["django"] / figures["cold_start_s"]["bare"]
        figures["cold_ratio_cpu"] = (
            figures["cold_start_cpu_s"]["django"] / figures["cold_start_cpu_s"]["bare"]
        )
        figures["cold_ratio_process"] = (
            figures["cold_process_s"]["django"] / figures["cold_process_s"]["bare"]
        )

        django = run_child("django", task, runtime, env, requests)
        warm = {
            "django": django["warm"],
            "django_wsgi": django["wsgi"],
            "bare": run_child("bare", root / "bare", runtime, env, requests)["warm"],
        }
        figures["requests"] = requests
        figures["warm_p50_ms"] = {k: percentile(v, 0.5) * 1000 for k, v in warm.items()}
        figures["warm_p90_ms"] = {k: percentile(v, 0.9) * 1000 for k, v in warm.items()}
        p50 = figures["warm_p50_ms"]
        # What the Lambda entry point (Zappa: event -> WSGI -> API Gateway answer) adds.
        figures["warm_overhead_p50_ms"] = p50["django"] - p50["django_wsgi"]
        # What Django + DRF + the app add over the bare handler's same INSERT.
        figures["warm_stack_p50_ms"] = p50["django_wsgi"] - p50["bare"]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    figures["goals"] = {
        "zip under 20 MB": figures["zip_mb"] < GOALS["zip_mb"],
        "cold start within 3x of the bare handler": figures["cold_ratio"] <= GOALS["cold_ratio"],
        "handler overhead under 1 ms at p50": figures["warm_overhead_p50_ms"]
        < GOALS["warm_overhead_p50_ms"],
    }
    return figures


def table(f: dict) -> str:
    cold, process, cpu = f["cold_start_s"], f["cold_process_s"], f["cold_start_cpu_s"]
    rows = [
        (
            "package",
            f"{f['zip_mib']:.1f} MiB zip ({f['zip_mb']:.1f} MB), "
            f"{f['unzipped_mib']:.1f} MiB unzipped, {f['files']} files",
        ),
        (
            "cold start: import + first POST (median)",
            f"handler {cold['django'] * 1000:.0f} ms | bare {cold['bare'] * 1000:.1f} ms | "
            f"ratio {f['cold_ratio']:.0f}x",
        ),
        (
            "  same, CPU time",
            f"handler {cpu['django'] * 1000:.0f} ms | bare {cpu['bare'] * 1000:.1f} ms | "
            f"ratio {f['cold_ratio_cpu']:.0f}x",
        ),
        (
            "  without the package's bytecode (as Zappa ships)",
            f"{cold['django_no_bytecode'] * 1000:.0f} ms "
            f"({cpu['django_no_bytecode'] * 1000:.0f} ms CPU)",
        ),
        (
            "  with boto3 imported at start-up (Zappa as is)",
            f"{cold['django_eager_boto3'] * 1000:.0f} ms "
            f"({cpu['django_eager_boto3'] * 1000:.0f} ms CPU)",
        ),
        (
            "  whole process, interpreter included",
            f"handler {process['django'] * 1000:.0f} ms | bare {process['bare'] * 1000:.0f} ms | "
            f"no bytecode {process['django_no_bytecode'] * 1000:.0f} ms | "
            f"ratio {f['cold_ratio_process']:.1f}x",
        ),
        (
            f"warm POST, p50 of {f['requests']}",
            f"handler {f['warm_p50_ms']['django']:.2f} ms | Django WSGI alone "
            f"{f['warm_p50_ms']['django_wsgi']:.2f} ms | bare {f['warm_p50_ms']['bare']:.3f} ms",
        ),
        (
            f"warm POST, p90 of {f['requests']}",
            f"handler {f['warm_p90_ms']['django']:.2f} ms | Django WSGI alone "
            f"{f['warm_p90_ms']['django_wsgi']:.2f} ms | bare {f['warm_p90_ms']['bare']:.3f} ms",
        ),
        ("  handler overhead (handler - WSGI), p50", f"{f['warm_overhead_p50_ms']:.2f} ms"),
        ("  Django + DRF + app over bare, p50", f"{f['warm_stack_p50_ms']:.2f} ms"),
    ]
    rows += [(f"goal: {goal}", "met" if met else "NOT met") for goal, met in f["goals"].items()]
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="run make package first")
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=1000)
    options = parser.parse_args(argv)
    figures = measure(options.cold_runs, options.requests, options.rebuild)
    print(table(figures))
    return figures


if __name__ == "__main__":
    main()
