"""Browser tests: Debian's Chromium, headless, driven by Playwright against a live server.

The live server is pytest-django's, with one change: it serves static files the way
`make run` does. collectstatic runs once into a temporary STATIC_ROOT with the manifest
storage, and WhiteNoise (already in MIDDLEWARE) serves the hashed, compressed files from
there, so pages reference the same hashed names as in production. pytest-django's own
static handler would serve unhashed files from the finders instead.

Map tiles never leave the machine: tile requests get a blank local PNG, and any other
off-site request is aborted.
"""

import contextlib
import fcntl
import os
import re
import tempfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings
from playwright.sync_api import Error as PlaywrightError

from tests.browser.gate import CHROMIUM, LAUNCH_ARGS, require_browser
from tests.browser.support import DESKTOP, serve_blank_tiles, take_screenshot

MANIFEST_STORAGE = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}


class _WhiteNoiseServesStatic:
    """Takes the live server's static-handler slot and passes every request on."""

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        return self.application(environ, start_response)


@pytest.fixture(scope="session", autouse=True)
def _browser_available():
    """First of all: fail in CI, or skip loudly, when Chromium or Playwright is missing."""
    require_browser()


@pytest.fixture(scope="session")
def collected_static(_browser_available, tmp_path_factory) -> Path:
    """One collectstatic for the run, whichever xdist worker gets there first (the others
    wait for it and serve the same folder, read-only): the manifest storage compresses
    every file, ~5 s CPU that each of `make test`'s three workers paid again."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # the run's
    root = shared / "browser-staticfiles"
    with (shared / "browser-staticfiles.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "staticfiles.json").exists():
            collecting = Path(tempfile.mkdtemp(prefix="browser-staticfiles-", dir=shared))
            storages = {**settings.STORAGES, "staticfiles": MANIFEST_STORAGE}
            with override_settings(STATIC_ROOT=collecting, STORAGES=storages):
                call_command("collectstatic", interactive=False, verbosity=0)
            collecting.rename(root)
    return root


@pytest.fixture(autouse=True)
def _plain_static_storage(settings, collected_static):
    """Overrides the unit tests' plain storage: browser tests use the real manifest."""
    settings.STATIC_ROOT = collected_static
    settings.STORAGES = {**settings.STORAGES, "staticfiles": MANIFEST_STORAGE}


@pytest.fixture(scope="session")
def live_server(collected_static):
    from pytest_django.live_server_helper import LiveServer

    storages = {**settings.STORAGES, "staticfiles": MANIFEST_STORAGE}
    # WhiteNoise reads these when the server thread builds its middleware. Without its
    # default "Access-Control-Allow-Origin: *" the static files behave like an S3 bucket
    # with no CORS rule, which is what the pages must cope with on AWS.
    with override_settings(
        STATIC_ROOT=collected_static, STORAGES=storages, WHITENOISE_ALLOW_ALL_ORIGINS=False
    ):
        server = LiveServer("localhost", start=False)
        server.thread.static_handler = _WhiteNoiseServesStatic
        server.start()
    yield server
    server.stop()


@pytest.fixture(scope="package")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop running in this thread, and Django then
    # refuses ORM calls from the test body (SynchronousOnlyOperation). Those calls are
    # plain synchronous ones, so allow them, only while the browser is open: the package
    # scope closes it (and restores the check) before other tests run in this process.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed:
        item.browser_test_failed = True
    return report


@pytest.fixture
def new_page(request, browser, live_server):
    """Open pages in fresh contexts (desktop size unless told); uncaught JS errors fail.
    A failed test leaves a screenshot of each of its pages in test-artifacts/screenshots/."""
    contexts, errors = [], []

    def open_page(viewport=DESKTOP):
        context = browser.new_context(viewport=viewport, base_url=live_server.url)
        context.set_default_timeout(10_000)
        serve_blank_tiles(context)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield open_page
    if getattr(request.node, "browser_test_failed", False):
        name = "FAILED-" + re.sub(r"[^\w.-]+", "-", request.node.name)
        pages = [page for context in contexts for page in context.pages]
        for n, page in enumerate(pages):
            with contextlib.suppress(PlaywrightError):  # a closed or crashed page
                take_screenshot(page, f"{name}-{n}" if len(pages) > 1 else name)
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def sign_in(live_server):
    """Start a session for a user in a page's browser context, without the form."""

    def start_session(page, user) -> None:
        client = Client()
        client.force_login(user)
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        page.context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
        )

    return start_session
