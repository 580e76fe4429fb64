"""`make destroy` deletes a stage's data: it asks for the stage's name first."""

import io
import subprocess

import pytest

from tests.aws import moto_stack


@pytest.fixture
def stages(monkeypatch):
    module = moto_stack.stage_module()
    # Any AWS call would mean the stage is being deleted before it was confirmed.
    monkeypatch.setattr(module, "session", lambda: pytest.fail("AWS was called"))
    return module


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_destroy_without_a_terminal_or_confirmation_deletes_nothing(stages, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(SystemExit, match="make destroy STAGE=dev CONFIRM=dev"):
        stages.main(["destroy", "dev"])


def test_destroy_with_the_wrong_name_typed_deletes_nothing(stages, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", Terminal("prod\n"))
    with pytest.raises(SystemExit, match="Nothing deleted"):
        stages.main(["destroy", "dev"])
    assert "deletes the stage dev" in capsys.readouterr().out


def test_make_destroy_passes_yes_only_when_confirm_names_the_stage():
    def command(*variables):
        dry_run = ["make", "-n", "--no-print-directory", "destroy", *variables]
        return subprocess.run(dry_run, capture_output=True, text=True, check=True).stdout

    assert "destroy dev --yes" in command("STAGE=dev", "CONFIRM=dev")
    assert "--yes" not in command("STAGE=dev", "CONFIRM=prod")
    assert "--yes" not in command("STAGE=dev")
