"""A stand-in for the python3.12 Lambda runtime, around an unzipped Lambda package.

Run in a bare interpreter that sees nothing but the package, the runtime's boto3 and the
standard library:

    python -I -S -B invoke_handler.py TASK_ROOT RUNTIME_DIR

TASK_ROOT plays /var/task (the unzipped package), RUNTIME_DIR /var/runtime (where Lambda
keeps the boto3 it provides); the handler is the one named by `_HANDLER`, as on Lambda
(zappa_settings.json's "lambda_handler"). Like a Lambda container it stays up: one JSON
event per line on stdin, and for each one JSON line on stdout:

    {"response": ..., "foreign_modules": [...], "seconds": ..., "cpu_seconds": ...,
     "boto3_loaded": ...}   or
    {"error": {"errorType", "errorMessage", "stackTrace"}, "foreign_modules": [...], ...}

(an exception is reported as Lambda reports it, which is what a Step Functions Catch sees).
foreign_modules lists modules loaded from anywhere else than those three places, which must
be none; the first answer (the cold start) also lists every module loaded, cold_modules.
What the function prints goes to stderr, so stdout carries only the answers.
"""

import json
import os
import sys
import sysconfig
import time
import traceback


class LambdaContext:
    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "wildrydes-dev")
    function_version = "$LATEST"
    invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
    memory_limit_in_mb = 1024
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    log_group_name = f"/aws/lambda/{function_name}"
    log_stream_name = "2026/01/01/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self):
        return 30_000


def foreign_modules(task_root, runtime_dir):
    stdlib = sysconfig.get_paths()["stdlib"]
    allowed_stdlib = (stdlib + os.sep, sysconfig.get_paths()["platstdlib"] + os.sep)
    foreign = []
    for name, module in sorted(sys.modules.items()):
        # Read past a lazy module's __getattribute__ (importlib.util.LazyLoader: boto3 in
        # zappa.utilities, pyyaml in DRF), which would load it.
        path = object.__getattribute__(module, "__dict__").get("__file__")
        if not path or name in ("__main__", "__mp_main__"):  # this script
            continue
        if path.startswith((task_root + os.sep, runtime_dir + os.sep)):
            continue
        if path.startswith(allowed_stdlib) and "site-packages" not in path:
            continue
        foreign.append(f"{name}: {path}")
    return foreign


def load_handler(name: str):
    """The function named as Lambda's `_HANDLER` names it: module.function, the module
    found from the task root (Zappa's handler.py at the root of the zip by default)."""
    import importlib

    module, function = name.rsplit(".", 1)
    return getattr(importlib.import_module(module), function)


def main():
    task_root, runtime_dir = sys.argv[1:3]
    # The python3.12 runtime's order: /var/task, /var/runtime, then the standard library.
    sys.path[:0] = [task_root, runtime_dir]
    os.chdir(task_root)
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # the function's prints: to stderr

    handler = None
    for line in sys.stdin:
        if not line.strip():
            continue
        event = json.loads(line)
        started, cpu_started = time.perf_counter(), time.process_time()
        cold = handler is None
        try:
            if handler is None:
                handler = load_handler(os.environ.get("_HANDLER", "handler.lambda_handler"))
            answer = {"response": handler(event, LambdaContext())}
        except Exception as error:
            answer = {
                "error": {
                    "errorType": type(error).__name__,
                    "errorMessage": str(error),
                    "stackTrace": traceback.format_exception(error),
                }
            }
        answer["seconds"] = time.perf_counter() - started
        answer["cpu_seconds"] = time.process_time() - cpu_started
        answer["boto3_loaded"] = "botocore.session" in sys.modules
        if cold:
            answer["cold_modules"] = sorted(sys.modules)
        answer["foreign_modules"] = foreign_modules(task_root, runtime_dir)
        answers.write(json.dumps(answer, default=str) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
