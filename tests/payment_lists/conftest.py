import pytest

from tests.admin.conftest import superuser, superuser_client  # noqa: F401
from tests.factories import OrganizationFactory
from tests.payments.conftest import finance_api, service_api, service_key  # noqa: F401


@pytest.fixture
def mine():
    return OrganizationFactory(name="Mine Ltd")


@pytest.fixture
def theirs():
    return OrganizationFactory(name="Theirs Ltd")
