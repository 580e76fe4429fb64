"""Who keeps a database connection between requests, by default (wildrydes/settings.py).

A Lambda function straight to PostgreSQL gives its connection back after each request: a
frozen container cannot, and after a burst the server would stay full (load/burst.py).
A long-running server, and a function behind a pooler, keep theirs."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
POSTGRES = "postgres://wildrydes@127.0.0.1:1/wildrydes"  # never connected to here


def database_setting(expression: str, **env) -> str:
    """`expression` of the settings' DATABASES['default'] (as `db`), loaded with `env`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "AWS_"))}
    shown = subprocess.run(
        [sys.executable, "-c", "import wildrydes.settings as s; "
         f"db = s.DATABASES['default']; print({expression})"],
        cwd=ROOT, env={**base, **env}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return shown.stdout.strip().splitlines()[-1]


def conn_max_age(**env) -> int:
    return int(database_setting("db['CONN_MAX_AGE']", **env))


@pytest.mark.parametrize(
    ("where", "env", "kept"),
    [
        ("a Lambda function straight to PostgreSQL", {"AWS_LAMBDA_FUNCTION_NAME": "f"}, 0),
        (
            "a Lambda function behind RDS Proxy",
            {"AWS_LAMBDA_FUNCTION_NAME": "f", "DATABASE_POOLER": "rds-proxy"},
            600,
        ),
        ("gunicorn or runserver straight to PostgreSQL", {}, 600),
    ],
)
def test_only_a_lambda_function_without_a_pooler_closes_its_connection(where, env, kept):
    assert conn_max_age(DATABASE_URL=POSTGRES, **env) == kept, where


@pytest.mark.parametrize(
    ("where", "env", "prepared"),
    [
        ("gunicorn or runserver straight to PostgreSQL", {}, "5"),
        ("a Lambda function behind RDS Proxy", {"DATABASE_POOLER": "rds-proxy"}, "None"),
        ("the tests behind PgBouncer", {"DATABASE_POOLER": "pgbouncer"}, "None"),
    ],
)
def test_statements_are_prepared_only_without_a_pooler(where, env, prepared):
    """A pooler in transaction mode may run the next statement on another server connection,
    where a statement prepared on the first does not exist."""
    shown = database_setting(
        "db['OPTIONS'].get('prepare_threshold'), db['OPTIONS'].get('server_side_binding')",
        DATABASE_URL=POSTGRES,
        **env,
    )
    assert shown == f"{prepared} True", where
