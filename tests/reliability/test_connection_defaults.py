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


def conn_max_age(**env) -> int:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "AWS_"))}
    shown = subprocess.run(
        [sys.executable, "-c", "import wildrydes.settings as s; "
         "print(s.DATABASES['default']['CONN_MAX_AGE'])"],
        cwd=ROOT, env={**base, **env}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return int(shown.stdout.strip().splitlines()[-1])


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
