import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/", "/api/health/", "/admin/login/"])
def test_security_headers_on_pages_and_api(client, path):
    response = client.get(path)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("path", ["/", "/ride/", "/admin/login/", "/no-such-page/", "/api/health/"])
def test_pages_and_api_answers_carry_the_content_security_policy(client, path):
    csp = client.get(path)["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp


def test_csp_allows_the_map_tiles_and_nothing_else_off_site(client, settings):
    csp = client.get("/")["Content-Security-Policy"]
    img = next(part for part in csp.split(";") if part.strip().startswith("img-src"))
    assert "https://tile.openstreetmap.org" in img
    connect = next(part for part in csp.split(";") if part.strip().startswith("connect-src"))
    assert connect.strip() == "connect-src 'self'"


def test_session_writes_need_csrf(rider):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(rider)
    response = client.post("/api/rides/", {"pickup": {"latitude": 47.6, "longitude": -122.3}})
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
