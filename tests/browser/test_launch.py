"""The browser's launch flags keep what Playwright's own flags do."""

import re
from pathlib import Path

import playwright

from tests.browser.gate import LAUNCH_ARGS, PLAYWRIGHTS_DISABLED_FEATURES
from tests.browser.support import BROWSER

pytestmark = BROWSER

DRIVER = Path(playwright.__file__).parent / "driver" / "package" / "lib"
# chromiumSwitches.ts, bundled: `disabledFeatures = [ "Name", // why ... ].filter(Boolean)`
DISABLED_FEATURES = re.compile(r"\bdisabledFeatures = \[(.*?)\]\.filter", re.DOTALL)


def playwrights_disabled_features() -> set[str]:
    for bundle in sorted(DRIVER.rglob("*.js")):
        if found := DISABLED_FEATURES.search(bundle.read_text(encoding="utf-8", errors="ignore")):
            code = re.sub(r"//[^\n]*", "", found.group(1))
            return set(re.findall(r'"(\w+)"', code))
    raise AssertionError(f"Playwright's disabledFeatures list not found under {DRIVER}")


def test_our_disable_features_switch_keeps_playwrights():
    """Chromium reads only the last --disable-features switch: ours comes after Playwright's
    and replaces it, so it must name every feature Playwright's turns off."""
    theirs = playwrights_disabled_features()
    assert theirs, "Playwright's disabledFeatures list is empty: the pattern misread it"
    assert theirs <= set(PLAYWRIGHTS_DISABLED_FEATURES), sorted(
        theirs - set(PLAYWRIGHTS_DISABLED_FEATURES)
    )
    switches = [arg for arg in LAUNCH_ARGS if arg.startswith("--disable-features=")]
    assert len(switches) == 1, switches
    assert theirs <= set(switches[0].removeprefix("--disable-features=").split(","))
