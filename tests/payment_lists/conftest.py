from tests.admin.conftest import superuser, superuser_client  # noqa: F401
from tests.payments.conftest import finance_api, service_api, service_key  # noqa: F401
