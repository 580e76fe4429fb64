import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from core.observability import count_metric, timed, timing_marks
from tests.factories import UnicornFactory

ROOT = Path(__file__).resolve().parents[2]


def test_every_response_carries_a_request_id(api, db):
    response = api.get("/api/health/")
    assert len(response["X-Request-Id"]) == 32


def test_a_callers_request_id_is_kept(api, db):
    response = api.get("/api/health/", HTTP_X_REQUEST_ID="trace-abc-123")
    assert response["X-Request-Id"] == "trace-abc-123"


def test_a_hostile_request_id_is_replaced_by_a_fresh_one(api, db):
    response = api.get("/api/health/", HTTP_X_REQUEST_ID="bad\nid; drop")
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-Id"])


def test_ride_request_logs_its_timing_marks_with_the_request_id(rider_api, caplog):
    UnicornFactory()
    with caplog.at_level(logging.INFO, logger="wildrydes.timing"):
        response = rider_api.post(
            "/api/rides/",
            {"pickup": {"latitude": 47.6, "longitude": -122.33}},
            HTTP_X_REQUEST_ID="ride-req-1",
        )
    assert response.status_code == 201
    record = next(r for r in caplog.records if r.getMessage().startswith("ride request"))
    assert record.request_id == "ride-req-1"
    assert record.marks_ms, "the request's steps are timed"
    assert record.total_ms >= max(record.marks_ms.values())


def test_marks_outside_a_unit_of_work_are_not_logged(caplog):
    with caplog.at_level(logging.DEBUG, logger="wildrydes.timing"), timed("orphan"):
        pass
    assert caplog.records == []


JSON_LOG_SCRIPT = """
import logging, django
django.setup()
from core.observability import request_id_var
request_id_var.set("req-42")
logging.getLogger("wildrydes.payments").warning("payment %s refused", "p-1")
"""


def test_the_projects_json_log_lines_carry_the_request_id():
    """Runs the project's own LOGGING config, as a deployed stage does (LOG_FORMAT=json)."""
    env = {**os.environ, "LOG_FORMAT": "json", "DJANGO_SETTINGS_MODULE": "wildrydes.settings"}
    result = subprocess.run(
        [sys.executable, "-c", JSON_LOG_SCRIPT],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["request_id"] == "req-42"
    assert line["message"] == "payment p-1 refused"
    assert line["level"] == "WARNING"
    assert line["logger"] == "wildrydes.payments"
    assert "time" in line


def test_metrics_are_cloudwatch_embedded_metric_lines_on_aws(settings, capsys):
    settings.METRICS_EMF = True
    settings.STAGE = "dev"
    count_metric("RidesRequested")
    line = json.loads(capsys.readouterr().out)
    assert line["RidesRequested"] == 1
    directive = line["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "WildRydes"
    assert directive["Metrics"] == [{"Name": "RidesRequested", "Unit": "Count"}]
    assert line["Stage"] == "dev"


def test_metrics_stay_out_of_stdout_locally(settings, capsys):
    settings.METRICS_EMF = False
    count_metric("RidesRequested")
    assert capsys.readouterr().out == ""


@pytest.mark.django_db
def test_workflow_steps_log_their_timing(caplog):
    from payment_lists import workflow
    from payment_lists.models import PaymentList

    with (
        caplog.at_level(logging.INFO, logger="wildrydes.timing"),
        pytest.raises(PaymentList.DoesNotExist),
    ):
        workflow.run_step_timed(workflow.STEPS[0], {"payment_list_id": 0})
    assert any("payment list RegisterList" in r.getMessage() for r in caplog.records)


def test_timing_marks_collect_nested_steps(caplog):
    with (
        caplog.at_level(logging.INFO, logger="wildrydes.timing"),
        timing_marks("unit"),
        timed("a"),
        timed("b"),
    ):
        pass
    record = caplog.records[-1]
    assert record.unit == "unit"
    assert set(record.marks_ms) == {"a", "b"}
    assert record.marks_ms["a"] >= record.marks_ms["b"], "the outer step includes the inner one"
