import json
import logging

import pytest

from core.observability import count_metric, request_id_var, timed, timing_marks
from tests.factories import UnicornFactory


def test_every_response_carries_a_request_id(api, db):
    response = api.get("/api/health/")
    assert len(response["X-Request-Id"]) == 32


def test_a_callers_request_id_is_kept(api, db):
    response = api.get("/api/health/", HTTP_X_REQUEST_ID="trace-abc-123")
    assert response["X-Request-Id"] == "trace-abc-123"


def test_a_hostile_request_id_is_replaced(api, db):
    response = api.get("/api/health/", HTTP_X_REQUEST_ID="bad\nid; drop")
    assert response["X-Request-Id"] != "bad\nid; drop"


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
    assert list(record.marks_ms) == ["rider", "pickup", "discount", "dispatch", "record"]
    assert record.request_id == "ride-req-1"


def test_marks_outside_a_unit_of_work_are_ignored():
    with timed("orphan"):
        pass  # no error, nothing collected


def test_json_log_lines_carry_the_request_id(capsys):
    from pythonjsonlogger.json import JsonFormatter

    from core.observability import RequestIdFilter

    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter("%(levelname)s %(request_id)s %(message)s"))
    handler.addFilter(RequestIdFilter())
    log = logging.getLogger("test.json")
    log.addHandler(handler)
    token = request_id_var.set("req-42")
    try:
        log.warning("hello")
    finally:
        request_id_var.reset(token)
        log.removeHandler(handler)
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line == {"levelname": "WARNING", "request_id": "req-42", "message": "hello"}


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
    assert list(record.marks_ms) == ["b", "a"]
