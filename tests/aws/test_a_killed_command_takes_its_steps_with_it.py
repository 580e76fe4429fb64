"""A deploy command killed mid-step (`kill -9`, an OOM kill) stops renewing the stage's lock,
which lapses; the next command takes the stage over. The step it had started (zappa
updating the function, collectstatic writing the bucket) must not go on changing the stage
beside that next command: it dies with the command that started it."""

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.aws import moto_stack

# What `deploy/stage.py` runs a step through (`run`), in a command killed while the step
# (here a stand-in for zappa that says its pid, then works for a minute) is running.
A_COMMAND_RUNNING_A_STEP = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("stage", sys.argv[1])
stages = importlib.util.module_from_spec(spec)
spec.loader.exec_module(stages)
stages.run(sys.executable, "-c", "import os, time; print(os.getpid(), flush=True); time.sleep(60)")
"""


def alive(pid: int) -> bool:
    """Running (not a zombie waiting for its parent to read its exit)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
def test_a_step_dies_with_the_command_killed_while_it_runs():
    stage_py = moto_stack.stage_module().__file__
    command = subprocess.Popen(
        [sys.executable, "-c", A_COMMAND_RUNNING_A_STEP, stage_py],
        stdout=subprocess.PIPE,
        text=True,
    )
    step = None
    try:
        said = command.stdout.readline().split()  # "==> python -c ..." first, then the pid
        while said and not said[0].isdigit():
            said = command.stdout.readline().split()
        step = int(said[0])
        assert alive(step)
        os.kill(command.pid, signal.SIGKILL)
        assert command.wait(timeout=30) == -signal.SIGKILL
        deadline = time.monotonic() + 10
        while alive(step) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(step), "the step went on after its command was killed"
    finally:
        command.kill()
        if step is not None and alive(step):
            os.kill(step, signal.SIGKILL)


def test_a_failed_step_is_named_by_its_own_command(monkeypatch):
    """The refusal names the step that failed (`python -c ...`), not the wrapper it runs in."""
    stages = moto_stack.stage_module()
    monkeypatch.setattr(
        stages, "run_command", lambda argv: stages.run(sys.executable, "-c", "raise SystemExit(3)")
    )
    with pytest.raises(SystemExit) as exited:
        stages.main(["deploy", "demo"])
    python = os.path.basename(sys.executable)
    assert exited.value.code.startswith(f"`{python} -c raise SystemExit(3) ...` failed (exit 3)")
