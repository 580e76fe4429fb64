import pytest

from tests.browser.gate import require_browser


def test_browser_tests_fail_in_ci_without_chromium(tmp_path):
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        require_browser(tmp_path / "no-chromium", environ={"CI": "true"})


def test_browser_tests_skip_on_a_laptop_without_chromium(tmp_path):
    with pytest.raises(pytest.skip.Exception, match="BROWSER TESTS SKIPPED"):
        require_browser(tmp_path / "no-chromium", environ={})


def test_browser_tests_run_where_chromium_is(tmp_path):
    chromium = tmp_path / "chromium"
    chromium.touch()

    require_browser(chromium, environ={"CI": "true"})
