from tests.bi.days import clock  # noqa: F401 (the days tests' clock)
