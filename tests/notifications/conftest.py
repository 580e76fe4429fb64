from tests.bi.days import clock  # noqa: F401 (Seattle's clock, for the receipts' times)
