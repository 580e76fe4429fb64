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


PAGES = [
    ("anonymous", "/"),
    ("anonymous", "/unicorns/"),
    ("anonymous", "/apply/"),
    ("anonymous", "/signin/"),
    ("rider", "/ride/"),
    ("rider", "/history/"),
    ("rider", "/notifications/"),
    ("anonymous", "/api/docs/"),
    ("anonymous", "/admin/login/"),
    ("operator", "/admin/"),
    ("operator", "/admin/rides/unicorn/"),
    ("operator", "/admin/bi/dailyaggregate/dashboard/"),
]


@pytest.mark.parametrize(("who", "path"), PAGES)
def test_no_page_allows_inline_script_or_style_elements(who, path):
    user = {
        "anonymous": None,
        "rider": factories.UserFactory,
        "operator": factories.OperatorFactory,
    }[who]
    client = signed_in(user()) if user else Client()
    response = client.get(path)
    assert response.status_code == 200
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
