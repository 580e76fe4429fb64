from unittest import mock

from django.db import DatabaseError


def test_health_reports_ok_with_the_database(api, db):
    response = api.get("/api/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_health_answers_503_when_the_database_is_down(api, db):
    with mock.patch("core.views.connection.cursor", side_effect=DatabaseError("gone")):
        response = api.get("/api/health/")
    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"


def test_health_refuses_other_methods(api, db):
    response = api.post("/api/health/")
    assert response.status_code == 405
    assert "not allowed" in response.json()["detail"]


def test_unknown_api_path_is_a_json_404(api, db):
    response = api.get("/api/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_schema_and_docs_are_served(api, db):
    assert api.get("/api/schema/").status_code == 200
    assert api.get("/api/docs/").status_code == 200
