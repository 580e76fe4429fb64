"""Service keys do what their scopes say and no more (issue 16, item 2)."""

import pytest
from rest_framework.test import APIClient

from payments.models import Payment
from tests.factories import OrganizationFactory, PaymentFactory, ServiceKeyFactory

pytestmark = pytest.mark.django_db

DRAW = {"username": "rider@example.com", "latitude": 47.6062, "longitude": -122.3321}
PAYMENT = {"amount": "12.50", "currency": "USD", "reference": "SCOPE-1"}


def key_client(key) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key.plain_key}")
    return client


@pytest.fixture
def promo_service():
    """The promo service's key: no organization, only promos:draw."""
    return key_client(ServiceKeyFactory(service="promos", scopes=["promos:draw"]))


def test_the_promo_services_key_draws_promos(promo_service):
    from tests.factories import CampaignFactory

    CampaignFactory()
    assert promo_service.post("/api/promos/discounts/", DRAW).status_code == 201


def test_the_promo_services_key_cannot_read_verify_or_delete_payments(promo_service):
    payment = PaymentFactory()
    assert promo_service.get("/api/payments/").status_code == 403
    assert promo_service.get(f"/api/payments/{payment.id}/").status_code == 403
    assert promo_service.post(f"/api/payments/{payment.id}/verify/").status_code == 403
    assert promo_service.delete(f"/api/payments/{payment.id}/").status_code == 403
    assert promo_service.post("/api/payments/", PAYMENT).status_code == 403
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REGISTERED
    assert Payment.objects.count() == 1


def test_a_key_without_an_organization_cannot_use_payment_scopes_it_was_given():
    key = ServiceKeyFactory(scopes=["payments:read", "payments:write"])
    client = key_client(key)
    assert client.get("/api/payments/").status_code == 403
    assert client.post("/api/payments/", PAYMENT).status_code == 403


def test_a_read_only_key_reads_but_does_not_write():
    organization = OrganizationFactory()
    client = key_client(ServiceKeyFactory(organization=organization, scopes=["payments:read"]))
    payment = PaymentFactory(organization=organization)

    assert client.get("/api/payments/").json()["count"] == 1
    refused = client.post(f"/api/payments/{payment.id}/verify/")
    assert refused.status_code == 403
    assert "scope" in refused.json()["detail"]
    assert client.post("/api/payments/", PAYMENT).status_code == 403


def test_a_payments_key_cannot_draw_promos():
    client = key_client(ServiceKeyFactory(organization=OrganizationFactory()))
    assert client.post("/api/promos/discounts/", DRAW).status_code == 403


def test_a_key_with_no_scopes_may_do_nothing():
    client = key_client(ServiceKeyFactory(organization=OrganizationFactory(), scopes=[]))
    assert client.get("/api/payments/").status_code == 403
    assert client.post("/api/promos/discounts/", DRAW).status_code == 403


def test_the_admin_shows_and_sets_a_keys_scopes(client):
    from accounts.models import ServiceKey
    from tests.factories import UserFactory

    admin_user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    ServiceKeyFactory(name="promo key", service="promos", scopes=["promos:draw"])

    listing = client.get("/admin/accounts/servicekey/")
    assert "promos:draw" in listing.content.decode()

    response = client.post(
        "/admin/accounts/servicekey/add/",
        {"name": "reader", "service": "bi", "scopes": ["payments:read"]},
    )
    assert response.status_code == 200  # refused: payment scopes need an organization
    assert "must act for an organization" in response.content.decode()
    assert not ServiceKey.objects.filter(name="reader").exists()

    organization = OrganizationFactory()
    response = client.post(
        "/admin/accounts/servicekey/add/",
        {
            "name": "reader",
            "service": "bi",
            "organization": organization.pk,
            "scopes": ["payments:read"],
        },
    )
    assert response.status_code == 302
    assert ServiceKey.objects.get(name="reader").scopes == ["payments:read"]
