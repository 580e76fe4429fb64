import pytest


@pytest.fixture(autouse=True)
def _no_answer_floor(settings):
    """Reset and resend answers are padded to a minimum time in production; tests that
    measure it set their own floor."""
    settings.ACCOUNT_ANSWER_FLOOR_SECONDS = 0
