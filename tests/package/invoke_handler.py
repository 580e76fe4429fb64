"""Invoke Zappa's handler from an unzipped Lambda package, as the python3.11 runtime would.

Run in a bare interpreter that sees nothing but the package, the runtime's boto3 and the
standard library:

    python -I -S -B invoke_handler.py TASK_ROOT RUNTIME_DIR RESULT_FILE < event.json

TASK_ROOT plays /var/task (the unzipped package), RUNTIME_DIR /var/runtime (where Lambda
keeps the boto3 it provides). Writes {"response", "foreign_modules"} to RESULT_FILE:
foreign_modules lists modules loaded from anywhere else, which must be none.
"""

import json
import os
import sys
import sysconfig


class LambdaContext:
    function_name = "wildrydes-dev"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:wildrydes-dev"
    memory_limit_in_mb = 512
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    log_group_name = "/aws/lambda/wildrydes-dev"
    log_stream_name = "2026/01/01/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self):
        return 30_000


def foreign_modules(task_root, runtime_dir):
    stdlib = sysconfig.get_paths()["stdlib"]
    allowed_stdlib = (stdlib + os.sep, sysconfig.get_paths()["platstdlib"] + os.sep)
    foreign = []
    for name, module in sorted(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not path or name in ("__main__", "__mp_main__"):  # this script
            continue
        if path.startswith((task_root + os.sep, runtime_dir + os.sep)):
            continue
        if path.startswith(allowed_stdlib) and "site-packages" not in path:
            continue
        foreign.append(f"{name}: {path}")
    return foreign


def main():
    task_root, runtime_dir, result_file = sys.argv[1:4]
    # The python3.11 runtime's order: /var/task, /var/runtime, then the standard library.
    sys.path[:0] = [task_root, runtime_dir]
    os.chdir(task_root)
    event = json.load(sys.stdin)

    import handler  # the handler.py Zappa put at the root of the zip

    response = handler.lambda_handler(event, LambdaContext())
    with open(result_file, "w", encoding="utf-8") as out:
        json.dump(
            {"response": response, "foreign_modules": foreign_modules(task_root, runtime_dir)},
            out,
        )


if __name__ == "__main__":
    main()
