"""`manage.py create_service_key`: a key for another stage's service, with its scopes."""

import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from accounts.models import ServiceKey
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def create(*args) -> str:
    out = io.StringIO()
    call_command("create_service_key", *args, stdout=out)
    return out.getvalue().strip()


def test_the_promo_services_key_is_printed_once_and_only_draws():
    plain = create("--service", "rides-prod", "--scope", "promos:draw")

    key = ServiceKey.objects.get(service="rides-prod")
    assert key.scopes == ["promos:draw"]
    assert plain.split(".")[1] not in key.hashed_key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {plain}")
    assert client.get("/api/payments/").status_code == 403


def test_payment_scopes_need_an_organization():
    with pytest.raises(CommandError, match="organization"):
        create("--service", "bi", "--scope", "payments:read")
    assert not ServiceKey.objects.exists()


def test_an_organizations_key_reads_its_payments():
    organization = OrganizationFactory(name="Forest Tours")
    plain = create(
        "--service", "ledger", "--scope", "payments:read", "--organization", "Forest Tours"
    )
    key = ServiceKey.objects.get(service="ledger")
    assert key.organization == organization
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {plain}")
    assert client.get("/api/payments/").status_code == 200


@pytest.mark.parametrize(
    ("service", "sentence"),
    [("x" * 81, "service: .*at most 80 characters"), ("", "service: This field cannot be blank")],
    ids=["too long", "empty"],
)
def test_a_service_name_the_key_cannot_hold_is_refused_with_a_sentence(service, sentence):
    """Was stored as given on SQLite (an empty name, or 81 characters in an 80-character
    column) and a DataError traceback on PostgreSQL; now the command says what is wrong."""
    with pytest.raises(CommandError, match=sentence):
        create("--service", service, "--scope", "promos:draw")
    assert not ServiceKey.objects.exists()
