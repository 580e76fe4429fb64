"""Whether the browser tests can run here: Debian's Chromium and the playwright package.

Browser builds cannot be downloaded on these machines, so Playwright drives the system
Chromium. In CI (CI=true) a missing browser is a failure; on a laptop the tests skip,
loudly.
"""

import importlib.util
import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("WILDRYDES_CHROMIUM", "/usr/bin/chromium"))
# The features Playwright (1.65.2) disables itself: Chromium keeps only the last
# --disable-features switch, so ours must repeat them (test_launch.py checks the driver's).
PLAYWRIGHTS_DISABLED_FEATURES = [
    "AvoidUnnecessaryBeforeUnloadCheckSync",
    "DestroyProfileOnBrowserClose",
    "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable",
    "LensOverlay",
    "MediaRouter",
    "PaintHolding",
    "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect",
    "TcpPortRandomizationWin",
    "OptimizationHints",
    "NetworkTimeServiceQuerying",
    "AimEnabled",
    "PreconnectToSearch",
    "msForceBrowserSignIn",
    "msEdgeUpdateLaunchServicesPreferredVersion",
]
# Debian's Chromium is the whole browser, headless: every context's page is a window with
# a toolbar, whose omnibox popup is a WebUI page (lit, mojo...) loaded in a renderer of its
# own. Off, as Puppeteer does: Chromium per context and page 1.1 -> 0.36 CPU-s; the browser
# pass's Chromium 219 and 349 -> 159 and 207 CPU-s (interleaved runs, a busy machine).
NO_OMNIBOX_WEBUI = ["WebUIOmniboxPopup", "WebUIOmniboxAimPopup"]
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-features=" + ",".join(PLAYWRIGHTS_DISABLED_FEATURES + NO_OMNIBOX_WEBUI),
]


def missing_piece(chromium: Path = CHROMIUM) -> str | None:
    if not chromium.exists():
        return f"{chromium} is missing (apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is missing (make setup)"
    return None


def require_browser(chromium: Path = CHROMIUM, environ=os.environ) -> None:
    """Fail in CI, skip loudly elsewhere, when the browser tests cannot run."""
    reason = missing_piece(chromium)
    if reason is None:
        return
    if environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but the browser tests cannot run: {reason}", pytrace=False)
    pytest.skip(f"BROWSER TESTS SKIPPED: {reason}")
