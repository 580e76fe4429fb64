"""The Lambda package: its size, its cold start and its per-request cost, against a bare
Python Lambda handler that does the same database insert.

    .venv/bin/python bench/lambda_bench.py [--rebuild] [--cold-runs 5] [--requests 1000]
        [--databases sqlite postgres] [--package build/other.zip]

`main()` prints a table and returns the figures as a dict (bench/run.py records them).

- Size: build/wildrydes-dev.zip (built by deploy/package.sh when missing, or --rebuild),
  zipped and unzipped.
- Cold start, the headline: each function started as Lambda starts one. A fresh bare
  interpreter runs the runtime's bootstrap, AWS's own runtime interface client
  (awslambdaric, as in Lambda's python3.12 runtime), which imports the handler (INIT: the
  function's, zappa_settings.json's lambda_handler, wildrydes.aws_lambda, which hands each
  event on to Zappa's handler.py) and asks a Runtime API for its first event; the Runtime
  API is RuntimeApi below, on loopback (GET .../invocation/next, POST .../invocation/{id}/
  response). Timed from the spawn to the first answer posted back, so the runtime's
  start-up, INIT and the first invoke are all in, the same way for both handlers; CPU time
  (user + system of the whole process, read when it is killed waiting for its next event)
  is the figure the goal is judged on, wall time is shown too. The first request is
  `POST /api/unicorn-applications/` (one INSERT) as an API Gateway proxy event; median of
  several runs, interleaved. For scale, the same for Django alone (the package's Django, no
  app, no DRF, no Zappa, one view doing the same INSERT): the floor of any Django function.
- Cold start in-process, as measured before (kept, reported apart): a bare interpreter
  that sees only the unzipped package and the runtime's boto3 imports the same handler
  and serves the same first request, timed inside the process from before the import, so
  the interpreter's and the runtime's start-up are left out of both sides (which makes the
  bare side a few ms). The same again without the package's bytecode shows what compiling
  it after packaging saves, and with boto3 imported first what the lazy boto3 in
  zappa/utilities.py saves.
- Warm: then the same process serves many more such POSTs; p50 of the time in
  lambda_handler per request, and of the same request handed straight to Django's WSGI
  app: their difference is what the Lambda entry point (Zappa's event -> WSGI -> response
  translation, its access log line) adds per request.
  The same warm POSTs through the runtime interface client add the Runtime API round trip.
- The bare handler: a plain `handler(event, context)` that parses the body and INSERTs the
  same row with sqlite3 into the same SQLite file (WAL, BEGIN IMMEDIATE, as Django does).
  Both sides load their code from bytecode compiled beforehand.
- Both databases (`--databases`), their runs interleaved: SQLite (a file) and PostgreSQL (a
  throwaway server from tests/pgcluster on loopback; skipped, loudly, without Debian's
  PostgreSQL binaries). PostgreSQL is the headline, the one the goals are judged on: a
  deployed stage cannot run on SQLite (production settings require DATABASE_URL), so a
  real cold start always imports psycopg and opens a PostgreSQL connection. There the
  package gets DATABASE_URL, and the bare handler imports psycopg at module level,
  connects on its first request (and keeps the connection, as Django's persistent one) and
  INSERTs the same row in a transaction; its psycopg is the package's (psycopg,
  psycopg_binary with its bundled libpq, and typing_extensions, which psycopg imports on
  Python < 3.13), as its own zip would bundle it. Django alone uses Django's postgresql
  backend on the same package psycopg.

The package's environment names the dev stage's AWS resources; the bench clears them
(events in-process, files on disk) so nothing leaves the machine. Takes about a minute and
a half with both databases.
"""

import argparse
import contextlib
import http.server
import importlib.util
import json
import os
import py_compile
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import pgcluster  # noqa: E402

PACKAGE = ROOT / "build" / "wildrydes-dev.zip"
RUNTIME_MODULES = ["boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3"]
# The runtime interface client (what Lambda's python3.12 runtime runs as its bootstrap),
# installed for the runtime's Python (the dev venv's is 3.11) from requirements/dev.txt's
# hash-pinned lines into build/ric-pythonX.Y.
RIC_MODULES = ["awslambdaric", "runtime_client", "simplejson", "snapshot_restore_py"]
RIC_REQUIREMENTS = ("awslambdaric", "simplejson", "snapshot-restore-py")
GOALS = {"zip_mib": 15.0, "cold_ratio": 3.0, "warm_overhead_p50_ms": 1.0}  # issue 19
DATABASES = ("sqlite", "postgres")
DATABASE_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
# What a bare handler's own zip bundles to talk to PostgreSQL: `pip install psycopg[binary]`
# (psycopg, its binary implementation with libpq and the libraries it links, typing_extensions,
# which psycopg imports on Python < 3.13, and their metadata: psycopg reads its version from
# it); taken from the package.
PSYCOPG = ["psycopg", "psycopg_binary", "psycopg_binary.libs", "typing_extensions.py"]
PSYCOPG_METADATA = ["psycopg-*.dist-info", "psycopg_binary-*.dist-info", "typing_extensions-*"]
# Cleared in the package's baked-in environment (zappa_settings.py) for the bench.
LOCAL_OVERRIDES = {
    "EVENTS_SNS_TOPIC_ARN": "",
    "AWS_STORAGE_BUCKET_NAME": "",
    "PAYMENT_LIST_STATE_MACHINE_ARN": "",
    "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
    # Every POST of the bench comes from one address: the anonymous applications' limit
    # (5/hour per address) is counted, as on the stage, but never reached (no 429).
    "UNICORN_APPLICATION_THROTTLE_RATE": "1000000000/hour",
    # A stage keeps its connection to RDS Proxy between requests (DATABASE_POOLER, set by
    # deploy/stage.py); here the function reaches the loopback server directly, and keeps its
    # connection as the stage does (and as the bare handler does).
    "DATABASE_CONN_MAX_AGE": "600",
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

BARE_POSTGRES_HANDLER = '''
"""A bare Lambda handler on PostgreSQL: the same INSERT as POST /api/unicorn-applications/."""
import datetime
import json
import os

import psycopg

_connection = None


def handler(event, context):
    global _connection
    if _connection is None:  # kept for the next invocations, like Django's persistent one
        _connection = psycopg.connect(os.environ["BENCH_POSTGRES"], autocommit=True)
    data = json.loads(event["body"])
    if data.get("gender") not in ("male", "female", "nonbinary") or "@" not in data["email"]:
        return {"statusCode": 400, "body": json.dumps({"detail": "Invalid application."})}
    now = datetime.datetime.now(datetime.timezone.utc)
    with _connection.transaction():  # BEGIN ... COMMIT
        (row_id,) = _connection.execute(
            "INSERT INTO rides_unicornapplication"
            " (name, color, gender, email, motivation, status, submitted_at)"
            " VALUES (%s, %s, %s, %s, %s, 'pending', %s) RETURNING id",
            (data["name"].strip(), data["color"].strip(), data["gender"], data["email"],
             data.get("motivation", ""), now),
        ).fetchone()
    body = {"id": row_id, "status": "pending", "detail": "Thank you!"}
    return {"statusCode": 201, "headers": {"Content-Type": "application/json"},
            "body": json.dumps(body)}
'''
BARE_HANDLERS = {"sqlite": BARE_HANDLER, "postgres": BARE_POSTGRES_HANDLER}

# Django's own floor, for scale: the package's Django with no app, no middleware, no DRF and
# no Zappa, one view doing the same INSERT through Django's connection; set up at import.
FLOOR_HANDLER = '''
"""Django alone: the least a Django function imports and does for the same INSERT."""
import io
import json
import os

import django
from django.conf import settings

if os.environ.get("BENCH_POSTGRES"):
    from urllib.parse import urlsplit

    url = urlsplit(os.environ["BENCH_POSTGRES"])
    database = {
        "ENGINE": "django.db.backends.postgresql", "NAME": url.path[1:], "USER": url.username,
        "HOST": url.hostname, "PORT": url.port, "CONN_MAX_AGE": 600,
    }
else:
    database = {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["BENCH_SQLITE"]}
settings.configure(
    SECRET_KEY="bench-" * 10,
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    DATABASES={"default": database},
    USE_TZ=True,
)
django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.utils import timezone  # noqa: E402


def create(request):
    data = json.loads(request.body)
    returning = " RETURNING id" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO rides_unicornapplication"
            " (name, color, gender, email, motivation, status, submitted_at)"
            " VALUES (%s, %s, %s, %s, %s, 'pending', %s)" + returning,
            [data["name"], data["color"], data["gender"], data["email"],
             data.get("motivation", ""), timezone.now()],
        )
        row_id = cursor.fetchone()[0] if returning else cursor.lastrowid
    return JsonResponse({"id": row_id, "status": "pending", "detail": "Thank you!"}, status=201)


urlpatterns = [path("api/unicorn-applications/", create)]
application = get_wsgi_application()


def handler(event, context):
    body = event["body"].encode()
    environ = {
        "REQUEST_METHOD": event["httpMethod"], "PATH_INFO": event["path"], "QUERY_STRING": "",
        "SERVER_NAME": event["headers"]["Host"], "SERVER_PORT": "443",
        "wsgi.url_scheme": "https", "wsgi.input": io.BytesIO(body),
        "CONTENT_TYPE": event["headers"]["Content-Type"], "CONTENT_LENGTH": str(len(body)),
    }
    status = []
    chunks = application(environ, lambda line, headers, exc_info=None: status.append(line))
    return {"statusCode": int(status[0][:3]), "body": b"".join(chunks).decode()}
'''

# The runtime's bootstrap (/var/runtime/bootstrap.py on Lambda), run as a script by a bare
# interpreter (-I -S -B): the function's code first on the path, then the runtime's modules
# (this folder and boto3's), then the standard library, as on Lambda; AWS's runtime interface client
# then imports the handler (INIT) and asks the Runtime API for events.
BOOTSTRAP = """
import os, sys
here = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.environ["LAMBDA_TASK_ROOT"], here, sys.argv[1]]  # sys.argv[1]: boto3 & co.
os.chdir(os.environ["LAMBDA_TASK_ROOT"])
from awslambdaric import __main__ as awslambdaric
awslambdaric.main([sys.argv[0], os.environ["_HANDLER"]])
"""

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
    import handler  # Zappa's, for the warm comparison below
    from wildrydes.aws_lambda import lambda_handler as handle  # the function's handler
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


def child_env() -> dict:
    """The environment every child starts with (before its database's)."""
    return {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "DJANGO_SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-0123",
        "BENCH_EVENT": json.dumps(api_event("/api/unicorn-applications/", APPLICATION)),
        "BENCH_OVERRIDES": json.dumps(LOCAL_OVERRIDES),
    }


def package(rebuild: bool, zip_path: Path = PACKAGE) -> Path:
    if zip_path != PACKAGE:  # another build (--package), e.g. to compare two
        return zip_path
    if rebuild or not PACKAGE.exists():
        # package.sh keeps a zip newer than its sources; --rebuild means a new one.
        env = {**os.environ, "PACKAGE_REBUILD": "1"} if rebuild else None
        subprocess.run(["bash", "deploy/package.sh", "dev"], cwd=ROOT, check=True, env=env)
    return PACKAGE


def unpack(zip_path: Path, into: Path) -> tuple[Path, Path]:
    task, runtime = into / "task", into / "runtime"
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(task)
    # The stage's baked-in environment names its AWS resources: point the bench at local
    # ones (Zappa copies ENVIRONMENT_VARIABLES over os.environ, so this is the only way in).
    settings = task / "zappa_settings.py"
    with settings.open("a") as f:
        f.write(f"\nENVIRONMENT_VARIABLES.update({LOCAL_OVERRIDES!r})  # bench\n")
    for stale in (task / "__pycache__").glob("zappa_settings.*.pyc"):
        stale.unlink()
    py_compile.compile(
        str(settings),
        cfile=importlib.util.cache_from_source(str(settings)),
        dfile="/var/task/zappa_settings.py",
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    # What Lambda's python3.12 runtime provides: boto3 & co. (runtime/, all the in-process
    # child sees; pure Python, taken from the dev venv) and its runtime interface client with
    # its bootstrap (ric/; compiled, installed for the runtime's Python).
    runtime.mkdir()
    for name in RUNTIME_MODULES:
        spec = importlib.util.find_spec(name)
        source = Path(spec.origin)
        if spec.submodule_search_locations:
            source = source.parent
        (runtime / source.name).symlink_to(source)
    (into / "ric").mkdir()
    installed = runtime_interface_client()
    for name in RIC_MODULES:
        for source in installed.glob(f"{name}*"):
            if not source.name.endswith(".dist-info"):
                (into / "ric" / source.name).symlink_to(source)
    (into / "ric" / "bootstrap.py").write_text(BOOTSTRAP)
    return task, runtime


def bare_python() -> str:
    """The interpreter .venv-lambda (the package's dependencies) was made from: the Lambda
    runtime's Python (deploy/package.sh checks its version)."""
    config = (ROOT / ".venv-lambda" / "pyvenv.cfg").read_text().splitlines()
    return dict(line.split(" = ", 1) for line in config if " = " in line)["executable"]


def runtime_interface_client() -> Path:
    """awslambdaric and what it needs, for the runtime's Python, installed once."""
    python = bare_python()
    version = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    target = ROOT / "build" / f"ric-python{version}"
    if (target / "awslambdaric").is_dir():
        return target
    blocks = (ROOT / "requirements" / "dev.txt").read_text().split("\n")
    wanted, keep = [], False
    for line in blocks:
        if line and not line.startswith((" ", "#")):
            keep = line.split("==")[0] in RIC_REQUIREMENTS
        if keep and not line.lstrip().startswith("#"):
            wanted.append(line)
    requirements = ROOT / "build" / "ric-requirements.txt"
    requirements.write_text("\n".join(wanted) + "\n")
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
         "--require-hashes", "--target", str(target), "-r", str(requirements)],
        check=True,
    )  # fmt: skip
    return target


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


class RuntimeApi(http.server.ThreadingHTTPServer):
    """Lambda's Runtime API on loopback, for one function process: hands out the events
    given to invoke() (GET .../invocation/next) and takes their answers (POST .../response);
    an init or invocation error fails the run."""

    daemon_threads = True
    PREFIX = "/2018-06-01/runtime/"

    def __init__(self):
        super().__init__(("127.0.0.1", 0), RuntimeApiHandler)
        self.events: queue.Queue = queue.Queue()
        self.answers: queue.Queue = queue.Queue()
        self.first_next: float | None = None  # when INIT ended: the first GET .../next
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def invoke(self, event: dict, alive=lambda: True) -> tuple[float, float, dict]:
        """Queue one event; return (handed out, answered, answer)."""
        request_id = str(uuid.uuid4())
        self.events.put((request_id, json.dumps(event).encode()))
        deadline = time.monotonic() + 300
        while True:
            try:
                handed, answered, kind, body = self.answers.get(timeout=0.2)
                break
            except queue.Empty:
                if not alive() or time.monotonic() > deadline:
                    raise RuntimeError("no answer: the process ended or hung") from None
        if kind != "response":
            raise RuntimeError(f"the function reported an {kind}: {body[:4000]!r}")
        return handed, answered, json.loads(body)

    def handle_error(self, request, client_address):
        pass  # the client's connection dies with the process at the end of each run

    def close(self) -> None:
        self.events.put(None)  # releases a GET .../next still waiting
        self.shutdown()
        self.server_close()


class RuntimeApiHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # the client keeps its connection, as with Lambda's
    disable_nagle_algorithm = True  # headers and body written apart: no 40 ms ACK waits

    def log_message(self, *args):
        pass

    def reply(self, status: int, body: bytes = b"{}", headers: dict | None = None) -> None:
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        api: RuntimeApi = self.server
        if self.path != api.PREFIX + "invocation/next":
            return self.reply(404)
        if api.first_next is None:
            api.first_next = time.perf_counter()
        item = api.events.get()
        if item is None:
            return self.reply(500)
        request_id, body = item
        self.handed = time.perf_counter()
        api.handed = self.handed
        deadline = int((time.time() + 30) * 1000)
        arn = "arn:aws:lambda:us-east-1:123456789012:function:wildrydes-dev"
        self.reply(
            200,
            body,
            {
                "Lambda-Runtime-Aws-Request-Id": request_id,
                "Lambda-Runtime-Deadline-Ms": str(deadline),
                "Lambda-Runtime-Invoked-Function-Arn": arn,
                "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000;Sampled=0",
            },
        )

    def do_POST(self):
        api: RuntimeApi = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        answered = time.perf_counter()
        kind = self.path.rsplit("/", 1)[-1]  # response, error (invocation or init)
        if kind == "error" and "/init/" in self.path:
            kind = "init error"
        self.reply(202)
        api.answers.put((getattr(api, "handed", answered), answered, kind, body))


def run_runtime(kind: str, task: Path, runtime: Path, env: dict, requests: int) -> dict:
    """A function process as Lambda starts one: the bootstrap under AWS's runtime interface
    client, talking to RuntimeApi. Cold start = spawn to the first answer (runtime start-up
    + INIT + first invoke); CPU time is the process's own (user + system) up to that point,
    read when it is killed while waiting for its next event."""
    api = RuntimeApi()
    env = {
        **env,
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "LAMBDA_TASK_ROOT": str(task),
        "_HANDLER": {
            "django": "wildrydes.aws_lambda.lambda_handler",  # zappa_settings' lambda_handler
            "bare": "bare_handler.handler",
            "floor": "floor_handler.handler",
        }[kind],
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "AWS_LAMBDA_FUNCTION_NAME": "wildrydes-dev",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/wildrydes-dev",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
    }
    event = json.loads(env["BENCH_EVENT"])
    bootstrap = runtime.parent / "ric" / "bootstrap.py"
    command = [bare_python(), "-I", "-S", "-B", str(bootstrap), str(runtime)]
    # Its log lines go to a file: a pipe nobody reads would fill up and block it.
    with tempfile.TemporaryFile() as output:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=output, stderr=output, cwd=task)
        try:
            try:
                _, answered, first = api.invoke(event, alive=lambda: process.poll() is None)
            except RuntimeError as error:
                process.kill()
                process.wait()
                output.seek(0)
                log = output.read()[-4000:].decode(errors="replace")
                raise RuntimeError(f"{kind} under the runtime client: {error}\n{log}") from error
            assert first["statusCode"] == 201, first
            init_done = api.first_next
            warm = []
            for _ in range(requests):
                handed, answered_warm, response = api.invoke(event)
                assert response["statusCode"] == 201, response
                warm.append(answered_warm - handed)
            # Killed while it waits for its next event: the CPU time it used is all in.
            process.send_signal(signal.SIGKILL)
            _, _, usage = os.wait4(process.pid, 0)
            process.returncode = -signal.SIGKILL
        finally:
            if process.returncode is None:
                process.kill()
                process.wait()
            api.close()
    return {
        "cold": answered - started,
        "init": init_done - started,
        "cold_cpu": usage.ru_utime + usage.ru_stime,
        "warm": warm,
    }


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def scratch() -> Path:
    shm = Path("/dev/shm")  # noqa: S108 (mkdtemp makes a private folder in it)
    base = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="wildrydes-lambda-bench-", dir=base))


def link(folder: Path, source: Path, names: list[str]) -> None:
    for name in names:
        (folder / name).symlink_to(source / name)
        if name.endswith(".py"):  # a top-level module: its bytecode too, shipped beside it
            cached = Path(importlib.util.cache_from_source(str(source / name)))
            (folder / "__pycache__").mkdir(exist_ok=True)
            (folder / "__pycache__" / cached.name).symlink_to(cached)


def psycopg_files(task: Path) -> list[str]:
    """psycopg and what it needs, as names in the unzipped package."""
    found = [path.name for pattern in PSYCOPG_METADATA for path in task.glob(pattern)]
    assert len(found) == len(PSYCOPG_METADATA), found
    return PSYCOPG + found


def compiled(module: Path) -> None:
    py_compile.compile(  # shipped with its bytecode too, like the package
        str(module),
        cfile=importlib.util.cache_from_source(str(module)),
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )


@contextlib.contextmanager
def database_env(name: str, root: Path):
    """The environment that points both handlers at `name`'s database, while it runs."""
    if name == "sqlite":
        path = root / "bench.sqlite3"
        yield {"DATABASE_URL": f"sqlite:///{path}", "BENCH_SQLITE": str(path)}
    else:
        with pgcluster.running_cluster() as cluster:
            yield {"DATABASE_URL": cluster.url, "BENCH_POSTGRES": cluster.url}


def summarize(under_runtime: dict, runs: dict, warm: dict, requests: int) -> dict:
    """One database's figures from its runs."""
    figures = {}
    # The headline: a Lambda cold start as AWS bills and users wait for it, the same way
    # for both handlers (runtime start-up + INIT + first invoke, spawn to first answer).
    for key, field in (("cold_s", "cold"), ("cold_cpu_s", "cold_cpu"), ("init_s", "init")):
        figures[f"runtime_{key}"] = {
            kind: statistics.median(r[field] for r in results)
            for kind, results in under_runtime.items()
        }
    figures["runtime_cold_cpu_min_s"] = {
        kind: min(r["cold_cpu"] for r in results) for kind, results in under_runtime.items()
    }
    for key in ("cold_s", "cold_cpu_s", "cold_cpu_min_s"):
        pair = figures[f"runtime_{key}"]
        figures[f"runtime_ratio_{key[:-2]}"] = pair["django"] / pair["bare"]
    for key, suffix in (("cold_cpu_s", "cpu"), ("cold_s", "wall")):
        pair = figures[f"runtime_{key}"]
        figures[f"runtime_ratio_floor_{suffix}"] = pair["floor"] / pair["bare"]
    figures["cold_start_s"] = {
        kind: statistics.median(r["cold"] for r in results) for kind, results in runs.items()
    }
    figures["cold_start_cpu_s"] = {
        kind: statistics.median(r["cold_cpu"] for r in results) for kind, results in runs.items()
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
    figures["requests"] = requests
    figures["warm_p50_ms"] = {k: percentile(v, 0.5) * 1000 for k, v in warm.items()}
    figures["warm_p90_ms"] = {k: percentile(v, 0.9) * 1000 for k, v in warm.items()}
    p50 = figures["warm_p50_ms"]
    # What the Lambda entry point (Zappa: event -> WSGI -> API Gateway answer) adds.
    figures["warm_overhead_p50_ms"] = p50["django"] - p50["django_wsgi"]
    # What Django + DRF + the app add over the bare handler's same INSERT.
    figures["warm_stack_p50_ms"] = p50["django_wsgi"] - p50["bare"]
    return figures


def measure(
    cold_runs: int, requests: int, rebuild: bool, databases=DATABASES, zip_path: Path = PACKAGE
) -> dict:
    zip_path = package(rebuild, zip_path)
    with zipfile.ZipFile(zip_path) as zf:
        entries = zf.infolist()
    figures = {
        "zip_mb": zip_path.stat().st_size / 1e6,
        "zip_mib": zip_path.stat().st_size / 2**20,
        "unzipped_mib": sum(e.file_size for e in entries) / 2**20,
        "files": len(entries),
        "databases": {},
    }
    root = scratch()
    try:
        task, runtime = unpack(zip_path, root)
        bare = {}  # per database: a folder as the bare handler's own zip would unpack
        for name in databases:
            bare[name] = root / f"bare-{name}"
            bare[name].mkdir()
            (bare[name] / "bare_handler.py").write_text(BARE_HANDLERS[name])
            compiled(bare[name] / "bare_handler.py")
            if name == "postgres":
                link(bare[name], task, psycopg_files(task))
        floor = root / "floor"  # Django and what it needs, from the package, and one view
        floor.mkdir()
        (floor / "floor_handler.py").write_text(FLOOR_HANDLER)
        compiled(floor / "floor_handler.py")
        link(floor, task, ["django", "asgiref", "sqlparse"])
        if "postgres" in databases:
            link(floor, task, psycopg_files(task))  # loaded by Django's postgresql backend only
        # The same package without its bytecode: what Zappa alone would ship.
        no_pyc = root / "task-no-bytecode"
        shutil.copytree(task, no_pyc, ignore=shutil.ignore_patterns("__pycache__"))
        base = child_env()
        with contextlib.ExitStack() as stack:
            envs = {
                name: {**base, **stack.enter_context(database_env(name, root))}
                for name in databases
            }
            for env in envs.values():  # migrate, through the package's handler
                run_child("django", task, runtime, {**env, "BENCH_SETUP": "1"}, 0)

            under_runtime = {name: {"django": [], "bare": [], "floor": []} for name in databases}
            runs = {
                name: {"django": [], "bare": [], "django_no_bytecode": [], "django_eager_boto3": []}
                for name in databases
            }
            for _ in range(cold_runs):  # interleaved, so all see the same machine
                for name, env in envs.items():
                    rt, ip = under_runtime[name], runs[name]
                    rt["django"].append(run_runtime("django", task, runtime, env, 0))
                    rt["bare"].append(run_runtime("bare", bare[name], runtime, env, 0))
                    rt["floor"].append(run_runtime("floor", floor, runtime, env, 0))
                    ip["django"].append(run_child("django", task, runtime, env, 0))
                    ip["bare"].append(run_child("bare", bare[name], runtime, env, 0))
                    ip["django_no_bytecode"].append(run_child("django", no_pyc, runtime, env, 0))
                    eager = {**env, "BENCH_EAGER_BOTO3": "1"}
                    ip["django_eager_boto3"].append(run_child("django", task, runtime, eager, 0))

            for name, env in envs.items():
                django = run_child("django", task, runtime, env, requests)
                warm = {
                    "django": django["warm"],
                    "django_wsgi": django["wsgi"],
                    "bare": run_child("bare", bare[name], runtime, env, requests)["warm"],
                }
                # The same warm POSTs through the runtime interface client (Runtime API round
                # trips on loopback): from the event handed out to the answer.
                warm["runtime_django"] = run_runtime("django", task, runtime, env, requests)["warm"]
                warm["runtime_bare"] = run_runtime("bare", bare[name], runtime, env, requests)[
                    "warm"
                ]
                figures["databases"][name] = summarize(
                    under_runtime[name], runs[name], warm, requests
                )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    # Judged on the production database: a deployed stage cannot run on SQLite.
    headline = "postgres" if "postgres" in databases else databases[0]
    figures["headline"] = headline
    on = DATABASE_NAMES[headline]
    if headline != "postgres":
        on += ", NOT the production database (PostgreSQL not measured)"
    head = figures["databases"][headline]
    figures["goals"] = {
        "zip at most 15 MiB": figures["zip_mib"] <= GOALS["zip_mib"],
        f"cold start within 3x of the bare handler (awslambdaric, CPU), on {on}": head[
            "runtime_ratio_cold_cpu"
        ]
        <= GOALS["cold_ratio"],
        f"handler overhead under 1 ms at p50, on {on}": head["warm_overhead_p50_ms"]
        < GOALS["warm_overhead_p50_ms"],
    }
    return figures


def database_rows(name: str, f: dict, headline: bool) -> list[tuple[str, str]]:
    cold, process, cpu = f["cold_start_s"], f["cold_process_s"], f["cold_start_cpu_s"]
    rt_cold, rt_cpu, rt_init = f["runtime_cold_s"], f["runtime_cold_cpu_s"], f["runtime_init_s"]
    rt_min = f["runtime_cold_cpu_min_s"]
    title = DATABASE_NAMES[name]
    if headline:
        title += (
            " (HEADLINE: what a deployed stage runs)"
            if name == "postgres"
            else " (goals judged here, but no stage runs on it: PostgreSQL not measured)"
        )
    return [
        (f"--- {title}", ""),
        (
            "COLD START under awslambdaric, spawn to 1st answer",
            f"handler {rt_cpu['django'] * 1000:.0f} ms CPU | bare {rt_cpu['bare'] * 1000:.0f} ms "
            f"CPU | ratio {f['runtime_ratio_cold_cpu']:.1f}x (median)",
        ),
        (
            "  same, fastest run",
            f"handler {rt_min['django'] * 1000:.0f} ms CPU | bare {rt_min['bare'] * 1000:.0f} ms "
            f"CPU | ratio {f['runtime_ratio_cold_cpu_min']:.1f}x",
        ),
        (
            "  same, wall time",
            f"handler {rt_cold['django'] * 1000:.0f} ms | bare {rt_cold['bare'] * 1000:.0f} ms | "
            f"ratio {f['runtime_ratio_cold']:.1f}x",
        ),
        (
            "  of which runtime start-up + INIT (wall)",
            f"handler {rt_init['django'] * 1000:.0f} ms | bare {rt_init['bare'] * 1000:.0f} ms",
        ),
        (
            "  Django alone (no app, DRF, Zappa), same INSERT",
            f"{rt_cpu['floor'] * 1000:.0f} ms CPU, {rt_cold['floor'] * 1000:.0f} ms wall | "
            f"ratio to bare {f['runtime_ratio_floor_cpu']:.1f}x CPU, "
            f"{f['runtime_ratio_floor_wall']:.1f}x wall: the floor for any Django function",
        ),
        (
            "in-process: import + first POST (median)",
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
            "  whole child process, spawn to exit (teardown in)",
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
        (
            "  through awslambdaric + Runtime API, p50",
            f"handler {f['warm_p50_ms']['runtime_django']:.2f} ms | "
            f"bare {f['warm_p50_ms']['runtime_bare']:.2f} ms",
        ),
        ("  Django + DRF + app over bare, p50", f"{f['warm_stack_p50_ms']:.2f} ms"),
    ]


def table(f: dict) -> str:
    rows = [
        (
            "package",
            f"{f['zip_mib']:.1f} MiB zip ({f['zip_mb']:.1f} MB), "
            f"{f['unzipped_mib']:.1f} MiB unzipped, {f['files']} files",
        ),
    ]
    # The headline database first.
    order = sorted(f["databases"], key=lambda name: name != f["headline"])
    for name in order:
        rows += database_rows(name, f["databases"][name], name == f["headline"])
    rows.append(("---", ""))
    rows += [(f"goal: {goal}", "met" if met else "NOT met") for goal, met in f["goals"].items()]
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{label:<{width}}  {value}".rstrip() for label, value in rows)  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="build a new package first")
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument(
        "--databases", nargs="+", choices=DATABASES, default=list(DATABASES),
        help="PostgreSQL (the production database) is the headline when measured",
    )  # fmt: skip
    parser.add_argument(
        "--package", type=Path, default=PACKAGE, help="measure this zip instead (not rebuilt)"
    )
    options = parser.parse_args(argv)
    databases = [name for name in DATABASES if name in options.databases]
    if "postgres" in databases and not pgcluster.available():
        print(
            "!! PostgreSQL binaries not found (apt-get install postgresql): skipping it; the "
            "goals are then judged on SQLite, which a deployed stage never runs on",
            file=sys.stderr,
        )
        databases.remove("postgres")
    if not databases:
        parser.error("no database left to measure")
    figures = measure(
        options.cold_runs, options.requests, options.rebuild, databases, options.package.resolve()
    )
    print(table(figures))
    return figures


if __name__ == "__main__":
    main()
