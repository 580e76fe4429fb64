import pytest

from tests.bi.days import Clock


@pytest.fixture
def clock(monkeypatch, settings):
    """django.utils.timezone.now at chosen Seattle moments (TIME_ZONE Seattle's)."""
    settings.TIME_ZONE = "America/Los_Angeles"
    clock = Clock(monkeypatch)
    yield clock
    clock.stop()
