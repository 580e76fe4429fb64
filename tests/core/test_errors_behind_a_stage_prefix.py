"""API errors are JSON whatever prefix the host puts before the app's paths: on a stage's
execute-api host every path arrives as /<stage>/api/... (Zappa's SCRIPT_NAME is /dev)."""

import pytest
from django.test import RequestFactory

from core.views import server_error

STAGE_PREFIX = {"SCRIPT_NAME": "/dev"}
BROWSER = {"HTTP_ACCEPT": "text/html,application/xhtml+xml"}


@pytest.mark.django_db
def test_unknown_api_path_behind_the_stage_prefix_is_a_json_404(client):
    response = client.get("/api/no-such-thing/", **STAGE_PREFIX, **BROWSER)
    assert response.wsgi_request.path == "/dev/api/no-such-thing/"
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_server_error_under_the_api_behind_the_stage_prefix_is_json():
    request = RequestFactory().get("/api/rides/", **STAGE_PREFIX, **BROWSER)
    response = server_error(request)
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert "went wrong" in response.content.decode()


@pytest.mark.django_db
def test_unknown_page_behind_the_stage_prefix_stays_an_html_page(client):
    response = client.get("/no-such-page/", **STAGE_PREFIX, **BROWSER)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_api_request_on_a_host_the_stage_does_not_serve_is_a_json_400(client):
    response = client.get("/api/health/", HTTP_HOST="lambda-alb-1.elb.example", **BROWSER)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "cannot be served" in response.json()["detail"]


@pytest.mark.django_db
def test_page_on_a_host_the_stage_does_not_serve_stays_an_html_400(client):
    response = client.get("/", HTTP_HOST="lambda-alb-1.elb.example", **BROWSER)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_permission_denied_under_the_api_is_json():
    from core.views import permission_denied

    response = permission_denied(RequestFactory().get("/api/rides/", **BROWSER))
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
