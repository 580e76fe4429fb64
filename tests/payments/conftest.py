import pytest
from rest_framework.test import APIClient

from tests.conftest import client_for
from tests.factories import OrganizationFactory, ServiceKeyFactory


@pytest.fixture
def finance_api(finance):
    return client_for(finance)


@pytest.fixture
def service_key(db):
    """A service of an organization: only such a key may touch payments."""
    return ServiceKeyFactory(service="rides-dev", organization=OrganizationFactory())


@pytest.fixture
def service_api(service_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {service_key.plain_key}")
    return client
