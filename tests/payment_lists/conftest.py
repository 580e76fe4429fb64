from tests.payments.conftest import finance_api, service_api, service_key  # noqa: F401
