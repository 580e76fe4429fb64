"""The Content-Security-Policy: no 'unsafe-inline' for scripts or style elements anywhere;
the few inline blocks the pages need carry the request's nonce.

That a browser really refuses an injected script is proven in
tests/browser/test_hostile_text.py; here, the policy each page is sent with.
"""

import re

import pytest
from django.test import Client

from tests import factories

pytestmark = pytest.mark.django_db


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    parts = (part.split() for part in policy.split(";") if part.strip())
    return {name: values for name, *values in parts}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _rider_pages() -> list[str]:
    """Every page of the rider site without a parameter, read from its URLconf: a page
    added later is checked without anyone listing it here."""
    from frontend import urls

    return ["/" + str(p.pattern) for p in urls.urlpatterns if "<" not in str(p.pattern)]


PAGES = [
    *_rider_pages(),
    "/history/00000000-0000-0000-0000-000000000000/",
    "/api/docs/",
    "/admin/login/",
    "/admin/",
    "/admin/rides/unicorn/",
    "/admin/bi/dailyaggregate/dashboard/",
]


@pytest.mark.parametrize("path", PAGES)
def test_no_page_allows_inline_script_or_style_elements(path):
    """Each page as a visitor sees it, or (when it sends visitors away) as a signed-in
    rider, or (the admin) as an operator."""
    client = Client()
    response = client.get(path)
    for user in (factories.UserFactory, factories.OperatorFactory):
        if response.status_code == 200:
            break
        client = signed_in(user())
        response = client.get(path)
    if path.startswith("/history/0000"):
        assert response.status_code == 404  # the not-found page, checked all the same
    else:
        assert response.status_code == 200, (path, response.status_code)
    policy = directives(response)
    for directive in ("script-src", "style-src", "style-src-elem"):
        assert "'unsafe-inline'" not in policy[directive], (directive, policy[directive])
        assert "'unsafe-eval'" not in policy[directive]
        assert "*" not in policy[directive]
    # Every inline script or style element on the page carries this response's nonce.
    html = response.content.decode()
    nonces = [v.removeprefix("'nonce-").rstrip("'") for v in policy["script-src"] if "nonce" in v]
    for tag in re.findall(r"<(?:script|style)\b[^>]*>", html):
        if "src=" in tag or 'type="application/json"' in tag:
            continue  # a file, or json_script data (never executed)
        assert nonces and f'nonce="{nonces[0]}"' in tag, tag


def test_each_response_gets_a_fresh_nonce(rider):
    client = signed_in(rider)
    first = directives(client.get("/ride/"))["script-src"]
    second = directives(client.get("/ride/"))["script-src"]
    assert [v for v in first if "nonce" in v] != [v for v in second if "nonce" in v]


def test_the_ride_page_map_script_runs_by_its_nonce(rider):
    response = signed_in(rider).get("/ride/")
    (nonce,) = [v for v in directives(response)["script-src"] if v.startswith("'nonce-")]
    assert f'<script nonce="{nonce[7:-1]}">' in response.content.decode()
