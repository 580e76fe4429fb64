"""Lambda's Invoke API on loopback, in front of moto's server, running the real package.

moto's own Invoke runs the function in Docker. This HTTP server takes every Lambda API call
(AWS_ENDPOINT_URL_LAMBDA points at it): Invoke runs the deployed package, unzipped, in a
bare interpreter as Lambda does (tests/package/lambda_runtime.py, one warm process per
function, serially like one container); everything else is passed to moto unchanged, so
Zappa and deploy/stage.py create, update, alias and map the function in moto as on AWS.

The package must be the one moto holds: its SHA-256 is checked against the function's
CodeSha256. The function's process sees the function's configuration (handler, environment)
and, standing in for the stage's VPC, PGHOSTADDR/PGPORT: the stage's DATABASE_URL names the
RDS Proxy host (without a port), which libpq then reaches on this loopback PostgreSQL
server, and the secrets come from moto's Secrets Manager as on AWS.
"""

import base64
import hashlib
import http.client
import json
import re
import shutil
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.aws import moto_stack
from tests.package import lambda_runtime

INVOKE = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")


class LoopbackLambda:
    def __init__(self, moto_endpoint: str, package: Path, extra_env: dict):
        self.moto = urllib.parse.urlsplit(moto_endpoint)
        self.moto_endpoint = moto_endpoint
        self.package = package
        self.extra_env = extra_env
        self.processes: dict[str, tuple[str, lambda_runtime.LambdaProcess, Path]] = {}
        self.lock = threading.Lock()
        self.invocations: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _forward(self):
                body = self._body()
                connection = http.client.HTTPConnection(owner.moto.hostname, owner.moto.port)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                headers["Host"] = owner.moto.netloc
                connection.request(self.command, self.path, body=body, headers=headers)
                answer = connection.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                connection.close()

            def do_POST(self):
                path, _, query = self.path.partition("?")
                match = INVOKE.match(path)
                if not match:
                    return self._forward()
                name = urllib.parse.unquote(match["name"]).split(":function:")[-1].split(":")[0]
                qualifier = urllib.parse.parse_qs(query).get("Qualifier", ["$LATEST"])[0]
                status, headers, data = owner.invoke(
                    name, qualifier, self._body(), self.headers.get("X-Amz-Log-Type")
                )
                self.send_response(status)
                for header, value in headers.items():
                    self.send_header(header, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "LoopbackLambda":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        for _, process, root in self.processes.values():
            process.close()
            shutil.rmtree(root, ignore_errors=True)

    def process_for(self, name: str, config: dict) -> lambda_runtime.LambdaProcess:
        code = base64.b64encode(hashlib.sha256(self.package.read_bytes()).digest()).decode()
        if config["CodeSha256"] != code:
            raise AssertionError(f"{name} in moto is not {self.package} ({config['CodeSha256']})")
        current = self.processes.get(name)
        if current and current[0] == code:
            return current[1]
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

    def invoke(self, name: str, qualifier: str, payload: bytes, log_type: str | None):
        lam = moto_stack.client("lambda", self.moto_endpoint)
        config = lam.get_function_configuration(FunctionName=name, Qualifier=qualifier)
        with self.lock:
            process = self.process_for(name, config)
            event = json.loads(payload or b"{}")
            answer = process.invoke(event, timeout=600)
            log = process.log_tail(4000)
        self.invocations.append({"function": name, "qualifier": qualifier, "event": event})
        headers = {"Content-Type": "application/json", "X-Amz-Executed-Version": "1"}
        if log_type == "Tail":
            headers["X-Amz-Log-Result"] = base64.b64encode(log.encode()[-4000:]).decode()
        if answer["foreign_modules"]:
            raise AssertionError(f"modules from outside the package: {answer['foreign_modules']}")
        if "error" in answer:
            headers["X-Amz-Function-Error"] = "Unhandled"
            return 200, headers, json.dumps(answer["error"]).encode()
        return 200, headers, json.dumps(answer["response"]).encode()
