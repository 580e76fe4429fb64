import html
import re

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.template.loader import get_template
from django.test import RequestFactory

from core.views import permission_denied, server_error
from tests.factories import OperatorFactory, UnicornFactory

PUBLIC_PAGES = ["/", "/unicorns/", "/investors/", "/faq/", "/apply/", "/register/", "/verify/"]
PUBLIC_PAGES += ["/signin/"]
RIDER_PAGES = ["/ride/", "/history/", "/notifications/"]

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_page_renders_and_sets_the_csrf_cookie(client, path):
    response = client.get(path)

    assert response.status_code == 200
    assert b"Wild Rydes" in response.content
    assert "csrftoken" in response.cookies


@pytest.mark.parametrize("path", RIDER_PAGES)
def test_rider_page_sends_an_anonymous_visitor_to_sign_in(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response.url == f"/signin/?next={path}"


@pytest.mark.parametrize("path", RIDER_PAGES)
def test_rider_page_renders_for_a_signed_in_rider(client, rider, path):
    client.force_login(rider)

    response = client.get(path)

    assert response.status_code == 200
    assert "data-sign-out" in response.content.decode()


def test_pages_only_answer_reads(client):
    assert client.post("/faq/").status_code == 405


def test_ride_page_has_a_leaflet_map_with_the_tile_url_setting(client, rider):
    client.force_login(rider)

    page = client.get("/ride/").content.decode()

    assert 'id="ride-map"' in page
    assert "frontend/vendor/leaflet-1.9.4/leaflet.js" in page
    assert f'data-tiles-url="{settings.MAP_TILES_URL}"' in page


def test_rider_pages_carry_no_inline_script_or_event_handler(client, rider):
    # The CSP allows no inline script: everything runs from static files.
    client.force_login(rider)
    for path in [*PUBLIC_PAGES, *RIDER_PAGES]:
        page = client.get(path).content.decode()
        inline = re.findall(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>", page)
        assert all("nonce=" in tag for tag in inline), f"{path}: {inline}"
        assert not re.search(r"\son[a-z]+\s*=", page), path


def test_unicorns_page_lists_the_fleet_from_the_database(client):
    UnicornFactory(name="Shadowfax", color="white")
    UnicornFactory(name="Moonbeam", color="silver", on_duty=False)

    page = client.get("/unicorns/").content.decode()

    assert "Shadowfax" in page
    assert "A white unicorn" in page
    assert "Moonbeam" in page
    assert "Resting today" in page


def test_sign_in_page_returns_to_a_local_next_page(client):
    page = client.get("/signin/?next=/history/").content.decode()

    assert 'data-next-url="/history/"' in page


def test_sign_in_page_ignores_a_next_page_on_another_site(client):
    page = client.get("/signin/?next=https://evil.example/").content.decode()

    assert 'data-next-url="/ride/"' in page


def test_notifications_page_shows_its_empty_state(client, rider):
    client.force_login(rider)

    page = client.get("/notifications/").content.decode()

    assert "No notifications yet." in page
    # What will appear there, and the way to a first ride (as the empty history has).
    empty = re.search(r"data-notifications-empty hidden>(.*?)</div>", page, re.S)
    text = " ".join(empty.group(1).split())
    assert "When you ride, this is where you hear that your unicorn is on its way" in text
    assert '<a class="button" href="/ride/">Request a unicorn</a>' in text


def test_no_template_syntax_leaks_into_a_page(client, rider):
    client.force_login(rider)
    for path in [*PUBLIC_PAGES, *RIDER_PAGES, "/no-such-page/"]:
        page = client.get(path).content.decode()
        for token in ("{#", "#}", "{%", "%}", "{{ ", " }}"):
            assert token not in page, f"{token} in {path}"


def test_pages_load_scripts_and_styles_from_static_files_only(client, rider):
    client.force_login(rider)
    for path in [*PUBLIC_PAGES, *RIDER_PAGES]:
        page = client.get(path).content.decode()
        assets = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page)
        assert assets, path
        for url in assets:
            assert url.startswith(settings.STATIC_URL), f"{path} loads {url}"


def test_an_unknown_page_shows_the_friendly_404_page(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "This page has wandered off" in response.content.decode()


def test_an_operator_refused_a_finance_page_sees_why_and_the_way_back(client):
    """Operators may not open payments (finance's): that 403 was the browser's bare
    '403 Forbidden', with no word of what happened and no way back."""
    operator = OperatorFactory(email="operator-on-duty@example.com")
    client.force_login(operator)

    response = client.get("/admin/payments/payment/")

    page = response.content.decode()
    assert response.status_code == 403
    assert "403.html" in [template.name for template in response.templates]
    assert "This stable is closed to your account" in page
    assert "operator-on-duty@example.com" in page  # who is signed in
    assert '<a class="button button-big" href="/admin/">Back to the admin</a>' in page


def test_a_403_outside_the_admin_leads_home(rf, rider):
    request = rf.get("/somewhere/")
    request.user = rider

    response = permission_denied(request, PermissionDenied())

    page = response.content.decode()
    assert response.status_code == 403
    assert "This stable is closed to your account" in page
    assert 'href="/">Back to the home page</a>' in page
    assert "/admin/" not in page


def test_an_unknown_api_path_still_answers_json(client):
    response = client.get("/api/no-such-thing/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_the_500_page_needs_no_context_and_no_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        response = server_error(RequestFactory().get("/ride/"))
        page = get_template("500.html").render()

    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()
    assert "{%" not in page
    assert "Traceback" not in page


def visible_text(page: str) -> str:
    """A page's words as a reader sees them: no scripts, comments, tags or attributes."""
    page = re.sub(r"<(script|style)\b.*?</\1>|<!--.*?-->", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_the_pages_say_request_a_unicorn_with_curly_apostrophes(client, rider):
    """The ride page's button said 'Request Unicorn' (title case) where the others say
    'Request a unicorn'; /account/ had a straight apostrophe among the curly ones."""
    client.force_login(rider)
    for path in [*PUBLIC_PAGES, *RIDER_PAGES, "/account/"]:
        text = visible_text(client.get(path).content.decode())
        assert "Request Unicorn" not in text, path
        assert not re.search(r"\w'\w", text), (path, re.findall(r"\S*\w'\w\S*", text))
    ride_page = client.get("/ride/").content.decode()
    assert re.search(r"data-request disabled>Request a unicorn</button>", ride_page)
    assert "someone else\u2019s computer" in visible_text(client.get("/account/").content.decode())
