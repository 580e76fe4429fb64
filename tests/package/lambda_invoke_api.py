"""Lambda's Invoke API on loopback, answered by the real package in a LambdaProcess.

    POST /2015-03-31/functions/{FunctionName}/invocations      (RequestResponse)

as the AWS SDKs call it (point them at it with AWS_ENDPOINT_URL_LAMBDA or endpoint_url). A
function error comes back as Lambda returns it: status 200, `X-Amz-Function-Error:
Unhandled` and the payload {"errorType", "errorMessage", "stackTrace"}, which is what a
Step Functions Retry or Catch matches on. Invocations are served one at a time, by one warm
container, in the order they arrive; each is recorded (`invocations`).
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

from tests.package.lambda_runtime import LambdaProcess

PATH_PREFIX = "/2015-03-31/functions/"
PATH_SUFFIX = "/invocations"


class InvokeApi:
    def __init__(self, function: LambdaProcess, before_invoke=None):
        """`before_invoke(event)` runs before each invocation (a test's fault injection)."""
        self.function = function
        self.before_invoke = before_invoke
        self.invocations: list[tuple[str, dict, dict]] = []  # (function name, event, answer)
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

    def invoke(self, name: str, event: dict) -> dict:
        with self._lock:
            if self.before_invoke:
                self.before_invoke(event)
            answer = self.function.invoke(event, timeout=300)
            self.invocations.append((name, event, answer))
            return answer

    def _handler_class(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                path = self.path.split("?", 1)[0]
                if not (path.startswith(PATH_PREFIX) and path.endswith(PATH_SUFFIX)):
                    return self._send(404, {"message": f"No such API: {path}"})
                name = unquote(path[len(PATH_PREFIX) : -len(PATH_SUFFIX)])
                if self.headers.get("X-Amz-Invocation-Type", "RequestResponse") not in (
                    "RequestResponse",
                ):
                    return self._send(400, {"message": "Only RequestResponse is served here."})
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                event = json.loads(raw) if raw else {}
                answer = api.invoke(name, event)
                if "error" in answer:
                    error = answer["error"]
                    return self._send(200, error, {"X-Amz-Function-Error": "Unhandled"})
                return self._send(200, answer["response"])

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
