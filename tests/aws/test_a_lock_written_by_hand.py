"""A stage's lock is an S3 object anyone with the bucket can write by hand (or edit). Whatever
it holds, the command it refuses says a sentence, and it lapses only as a command's lapse.

Before: `{"ttl_seconds": NaN}` (JSON's NaN, which Python reads) or `"nan"` stopped the next
command with ValueError (cannot convert float NaN to integer), `1e999`/`"Infinity"` with
OverflowError, `{"command": []}` with TypeError (unhashable type: 'list'), a lock nested
past Python's depth with RecursionError, all tracebacks; `ttl_seconds` 0, -5 or true lapsed
at once, so the next command took over a lock someone had just written; and its `by` was
printed as written, a terminal's escape sequences and a megabyte included.
"""

import io
import json

import pytest

from tests.aws import moto_stack
from tests.aws import test_deployer_mistakes as mistakes

pytestmark = pytest.mark.filterwarnings(moto_stack.IGNORE_UNSUPPORTED)

# The fixtures of the deployer's mistakes: the module, a machine with no AWS set, moto.
stages, bare_aws, aws = mistakes.stages, mistakes.bare_aws, mistakes.aws
refused = mistakes.refused

HOLDER = {"by": "erin@laptop", "pid": 4242, "started": "2026-12-07 19:00:00 UTC"}
BY_HAND = {
    "NaN": b'{"by": "erin@laptop", "ttl_seconds": NaN}',
    "nan string": json.dumps({**HOLDER, "ttl_seconds": "nan"}),
    "infinite": b'{"by": "erin@laptop", "ttl_seconds": 1e999}',
    "Infinity": b'{"by": "erin@laptop", "ttl_seconds": Infinity}',
    "zero": json.dumps({**HOLDER, "ttl_seconds": 0}),
    "negative": json.dumps({**HOLDER, "ttl_seconds": -5}),
    "true": json.dumps({**HOLDER, "ttl_seconds": True}),
    "a list command": json.dumps({**HOLDER, "command": []}),
    "an object command": json.dumps({**HOLDER, "command": {"a": 1}, "pid": [1]}),
    "nested": b"[" * 100_000 + b"]" * 100_000,
    "a list": b"[1, 2]",
    "not JSON": b"locked by erin, do not deploy",
    "escape sequences": json.dumps({**HOLDER, "by": "\x1b[2J\x1b[31mroot\r\nfake line"}),
    "a megabyte": json.dumps({**HOLDER, "by": "x" * 1_000_000}),
}


def test_a_lock_written_by_hand_refuses_with_a_sentence_and_does_not_lapse_at_once(
    stages,
    aws,
    monkeypatch,
    capsys,
):
    account = stages.account_of(aws)
    s3 = aws.client("s3")
    bucket = f"wildrydes-demo-zappa-{account}"
    s3.create_bucket(Bucket=bucket)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    for name, body in BY_HAND.items():
        s3.put_object(Bucket=bucket, Key="deploy.lock", Body=body)
        etag = s3.head_object(Bucket=bucket, Key="deploy.lock")["ETag"]
        with pytest.raises(SystemExit) as exited:
            stages.DeployLock(aws, "demo", account).acquire()
        said = exited.value.code
        assert isinstance(said, str), (name, said)
        assert said.startswith("Another `make deploy STAGE=demo` is running: started by"), name
        assert "lapses 3 hours after it was last heard from" in said, (name, said)
        assert "\x1b" not in said and "\n" not in said and len(said) < 1000, (name, said[:300])
        # Left as it was: not taken over.
        assert s3.head_object(Bucket=bucket, Key="deploy.lock")["ETag"] == etag, name
        # make unlock names it with a sentence too, and removes nothing unconfirmed.
        said = refused(stages, ["unlock", "demo"])
        assert said.startswith("Nothing removed."), (name, said)
        printed = capsys.readouterr().out
        assert printed.startswith("The stage demo is held by `make deploy STAGE=demo`"), name
        assert "\x1b" not in printed and len(printed) < 1000, (name, printed[:300])
    assert "erin@laptop" in printed or "x" * 100 in printed
