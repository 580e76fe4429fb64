"""AWS on this machine, for trying `make deploy|operator|rollback|destroy` without an account:

    .venv/bin/python -m tests.aws.standin        # prints the exports, runs until Ctrl-C

moto's server with the harness's gaps filled (tests/aws/moto_gaps.py: a bare `moto_server`
cannot hold the stage's stack), a loopback Lambda Invoke API that runs each function's real
package, build/<function>.zip, unzipped in a bare interpreter (moto's own Invoke needs
Docker), and a PostgreSQL server with TLS standing in for every stage's RDS Proxy (one
database, `wildrydes`, shared by the stages here). What moto's CloudFormation skips is not
there: the static files' public bucket policy (the files are in the bucket, private), the
queues' SNS subscriptions. tests/aws/test_deploy_stage.py runs the same pieces as a test.
"""

import json
import signal
import sys
import threading

import psycopg

from tests.aws import moto_gaps, moto_stack
from tests.aws.test_deploy_stage import TlsCluster
from tests.package.lambda_invoke_api import LoopbackLambda


class EachFunctionItsPackage(LoopbackLambda):
    """Every function runs the zip `make deploy` built for it: build/<function name>.zip."""

    def process_for(self, name: str, qualifier: str):
        self.package = moto_stack.ROOT / "build" / f"{name}.zip"
        return super().process_for(name, qualifier)


def main(port: int = 5123) -> None:
    import shutil

    from moto.server import ThreadedMotoServer

    from tests import pgcluster

    if not pgcluster.available() or not shutil.which("openssl"):
        raise SystemExit(
            "The stand-in runs a PostgreSQL server with TLS for the stages' database: install"
            " PostgreSQL's server and openssl (Debian: apt-get install postgresql openssl),"
            " then run it again."
        )

    moto_gaps.install()  # before the server starts
    moto_stack._list_moto_modules_once()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    database = TlsCluster().start()
    with psycopg.connect(database.url, autocommit=True) as connection:
        connection.execute("CREATE DATABASE wildrydes")
    vpc = {"PGHOSTADDR": "127.0.0.1", "PGPORT": str(database.port)}
    functions = EachFunctionItsPackage(endpoint, moto_stack.ROOT / "build", vpc)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with functions:
        exports = {
            **moto_stack.FAKE_CREDENTIALS,
            "AWS_REGION": moto_stack.REGION,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ENDPOINT_URL_LAMBDA": functions.url,
        }
        print(" ".join(["export", *(f"{k}={v}" for k, v in exports.items())]))
        print("unset AWS_PROFILE AWS_DEFAULT_REGION   # then: make deploy STAGE=demo", flush=True)
        try:
            stopped.wait()
        except KeyboardInterrupt:
            pass
        finally:
            database.stop()
            server.stop()
            print(json.dumps({"invocations": len(functions.invocations)}), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5123)
