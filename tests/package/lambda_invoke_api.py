"""Lambda's Invoke API on loopback, answered by the real package in a LambdaProcess.

    POST /2015-03-31/functions/{FunctionName}/invocations      (RequestResponse)

as the AWS SDKs call it (point them at it with AWS_ENDPOINT_URL_LAMBDA or endpoint_url). A
function error comes back as Lambda returns it: status 200, `X-Amz-Function-Error:
Unhandled` and the payload {"errorType", "errorMessage", "stackTrace"}, which is what a
Step Functions Retry or Catch matches on; `X-Amz-Log-Type: Tail` gets the log's tail in
`X-Amz-Log-Result`. Invocations are served one at a time, in the order they arrive, each by
the function's one warm container; each is recorded (`invocations`: function, qualifier,
event, answer).

InvokeApi serves one given LambdaProcess for every function name. LoopbackLambda stands in
front of moto's server (whose own Invoke runs the function in Docker): Invoke runs the
package moto holds, unzipped, with the function's configuration from moto; every other Lambda
API call is passed to moto unchanged, so Zappa and deploy/stage.py create, update, alias and
map the function in moto as on AWS.
"""

import base64
import hashlib
import http.client
import json
import shutil
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.aws import moto_stack
from tests.package import lambda_runtime

PATH_PREFIX = "/2015-03-31/functions/"
PATH_SUFFIX = "/invocations"


class InvokeApi:
    timeout = 300  # seconds one invocation may take

    def __init__(self, function: lambda_runtime.LambdaProcess | None, before_invoke=None):
        """`before_invoke(event)` runs before each invocation (a test's fault injection)."""
        self.function = function
        self.before_invoke = before_invoke
        self.invocations: list[dict] = []  # {"function", "qualifier", "event", "answer"}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    def process_for(self, name: str, qualifier: str) -> lambda_runtime.LambdaProcess:
        return self.function

    def invoke(self, name: str, event: dict, qualifier: str = "$LATEST") -> dict:
        """The runtime's answer ({"response": ...} or {"error": ...}), as LambdaProcess.invoke."""
        return self._invoke(name, event, qualifier)[0]

    def _invoke(self, name: str, event: dict, qualifier: str) -> tuple[dict, str]:
        with self._lock:
            process = self.process_for(name, qualifier)
            if self.before_invoke:
                self.before_invoke(event)
            answer = process.invoke(event, timeout=self.timeout)
            log = process.log_tail(4000)
            record = {"function": name, "qualifier": qualifier, "event": event, "answer": answer}
            self.invocations.append(record)
        self.check(answer)
        return answer, log

    def check(self, answer: dict) -> None:
        """What every answer must satisfy (beyond what the caller checks)."""

    def forward(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        """Any other API call: not served here."""
        path = handler.path.split("?", 1)[0]
        handler._send(404, {"message": f"No such API: {path}"})

    def _handler_class(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _forward(self):
                api.forward(self, self._body())

            def do_POST(self):
                path, _, query = self.path.partition("?")
                if not (path.startswith(PATH_PREFIX) and path.endswith(PATH_SUFFIX)):
                    return self._forward()
                name = urllib.parse.unquote(path[len(PATH_PREFIX) : -len(PATH_SUFFIX)])
                name = name.split(":function:")[-1].split(":")[0]  # an ARN's function name
                qualifier = urllib.parse.parse_qs(query).get("Qualifier", ["$LATEST"])[0]
                if self.headers.get("X-Amz-Invocation-Type", "RequestResponse") not in (
                    "RequestResponse",
                ):
                    return self._send(400, {"message": "Only RequestResponse is served here."})
                raw = self._body()
                answer, log = api._invoke(name, json.loads(raw) if raw else {}, qualifier)
                headers = {}
                if self.headers.get("X-Amz-Log-Type") == "Tail":
                    tail = log.encode()[-4000:]
                    headers["X-Amz-Log-Result"] = base64.b64encode(tail).decode()
                if "error" in answer:
                    headers["X-Amz-Function-Error"] = "Unhandled"
                    return self._send(200, answer["error"], headers)
                return self._send(200, answer["response"], headers)

            do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = _forward

            def _send(self, status: int, payload, headers: dict | None = None):
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("X-Amz-Executed-Version", "$LATEST")
                self.send_header("x-amzn-RequestId", "c6af9ac6-7b61-11e6-9a41-93e8deadbeef")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # quiet
                pass

        return Handler


class LoopbackLambda(InvokeApi):
    """In front of moto's server, running the real package.

    The package must be the one moto holds: its SHA-256 is checked against the function's
    CodeSha256. The function's process (one warm process per function) sees the function's
    configuration (handler, environment), `extra_env` (the stage's VPC stand-in: PGHOSTADDR/
    PGPORT, so libpq reaches the RDS Proxy host named by DATABASE_URL on a loopback
    PostgreSQL server) and moto's endpoint, so the secrets come from moto's Secrets Manager.
    A module loaded from outside the package fails the invocation.
    """

    timeout = 600

    def __init__(self, moto_endpoint: str, package: Path, extra_env: dict):
        super().__init__(None)
        self.moto = urllib.parse.urlsplit(moto_endpoint)
        self.moto_endpoint = moto_endpoint
        self.package = package
        self.extra_env = extra_env
        self.processes: dict[str, tuple[str, lambda_runtime.LambdaProcess, Path]] = {}

    def __exit__(self, *exc) -> None:
        super().__exit__(*exc)
        for _, process, root in self.processes.values():
            process.close()
            shutil.rmtree(root, ignore_errors=True)

    def check(self, answer: dict) -> None:
        if answer["foreign_modules"]:
            raise AssertionError(f"modules from outside the package: {answer['foreign_modules']}")

    def process_for(self, name: str, qualifier: str) -> lambda_runtime.LambdaProcess:
        lam = moto_stack.client("lambda", self.moto_endpoint)
        config = lam.get_function_configuration(FunctionName=name, Qualifier=qualifier)
        code = base64.b64encode(hashlib.sha256(self.package.read_bytes()).digest()).decode()
        if config["CodeSha256"] != code:
            raise AssertionError(f"{name} in moto is not {self.package} ({config['CodeSha256']})")
        current = self.processes.get(name)
        if current and current[0] == code:
            return current[1]
        if current:  # a new version (zappa update): the old container goes, with its files
            current[1].close()
            shutil.rmtree(current[2], ignore_errors=True)
        root = lambda_runtime.unpack(self.package)
        env = {
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "AWS_REGION": moto_stack.REGION,
            "AWS_DEFAULT_REGION": moto_stack.REGION,
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "LAMBDA_TASK_ROOT": str(root / "task"),
            "_HANDLER": config["Handler"],
            **moto_stack.FAKE_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.moto_endpoint,
            **config.get("Environment", {}).get("Variables", {}),
            **self.extra_env,
        }
        self.processes[name] = (code, lambda_runtime.LambdaProcess(root, env), root)
        return self.processes[name][1]

    def forward(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        """Every other Lambda API call: to moto, unchanged."""
        connection = http.client.HTTPConnection(self.moto.hostname, self.moto.port)
        headers = {k: v for k, v in handler.headers.items() if k.lower() != "host"}
        headers["Host"] = self.moto.netloc
        connection.request(handler.command, handler.path, body=body, headers=headers)
        answer = connection.getresponse()
        data = answer.read()
        handler.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
        connection.close()
