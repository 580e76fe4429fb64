"""A deployer's machine with util-linux before 2.33 (Amazon Linux 2, Ubuntu 18.04) has a
`setpriv` that knows no `--pdeathsig`: the steps must still run there, as they did before
steps were tied to their command, not fail every deploy at its first step."""

import os
import sys

import pytest

from tests.aws import moto_stack

# util-linux 2.30's answer to an option it does not have; anything else runs as setpriv would.
OLD_SETPRIV = """#!/bin/sh
for argument in "$@"; do
  case "$argument" in
    --pdeathsig*) echo "setpriv: unrecognized option '--pdeathsig'" >&2; exit 1 ;;
    --) shift; exec "$@" ;;
  esac
  shift
done
"""


@pytest.fixture
def old_setpriv(tmp_path, monkeypatch):
    path = tmp_path / "setpriv"
    path.write_text(OLD_SETPRIV)
    path.chmod(0o755)
    stages = moto_stack.stage_module()
    monkeypatch.setattr(stages, "SETPRIV", str(path))
    return stages


@pytest.mark.skipif(sys.platform == "win32", reason="a shell script stands in for setpriv")
def test_a_step_runs_with_a_setpriv_that_has_no_pdeathsig(old_setpriv, tmp_path):
    ran = tmp_path / "ran"
    old_setpriv.run(sys.executable, "-c", f"open({str(ran)!r}, 'w').write('yes')")
    assert ran.read_text() == "yes"


def test_a_failed_step_is_still_named_by_its_own_command(old_setpriv, monkeypatch):
    monkeypatch.setattr(
        old_setpriv,
        "run_command",
        lambda argv: old_setpriv.run(sys.executable, "-c", "raise SystemExit(3)"),
    )
    with pytest.raises(SystemExit) as exited:
        old_setpriv.main(["deploy", "demo"])
    python = os.path.basename(sys.executable)
    assert exited.value.code.startswith(f"`{python} -c raise SystemExit(3) ...` failed (exit 3)")
