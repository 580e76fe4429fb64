"""Who may mint which service key: one rule (accounts.services.check_service_key_grant),
asked by the admin's form and by issue_service_key, which the admin and the
create_service_key command both store keys through."""

import pytest
from django.core.exceptions import ValidationError

from accounts import services
from accounts.models import ServiceKey
from tests.admin.conftest import signed_in
from tests.factories import FinanceFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db

ADD = "/admin/accounts/servicekey/add/"


@pytest.fixture
def mine():
    return OrganizationFactory(name="Mine Ltd")


@pytest.fixture
def finance(mine):
    return FinanceFactory(organizations=[mine])


def test_finance_mints_a_payment_key_for_its_organization_and_sees_it_once(finance, mine):
    page = signed_in(finance).post(
        ADD,
        {"name": "erp", "service": "erp", "organization": mine.pk, "scopes": ["payments:read"]},
        follow=True,
    )

    key = ServiceKey.objects.get(name="erp")
    assert (key.organization, key.scopes, key.created_by) == (mine, ["payments:read"], finance)
    shown = [str(m) for m in page.context["messages"]]
    assert any(m.startswith("The API key for erp is: ") for m in shown)


@pytest.mark.parametrize(
    "organization, scopes, field",
    [
        ("theirs", ["payments:read"], "organization"),
        (None, ["payments:read"], "organization"),
        ("mine", ["payments:read", "promos:draw"], "scopes"),
    ],
)
def test_finance_may_not_mint_other_keys(finance, mine, organization, scopes, field):
    chosen = {"mine": mine, "theirs": OrganizationFactory(), None: None}[organization]
    key = ServiceKey(name="x", service="x", organization=chosen, scopes=scopes)

    with pytest.raises(ValidationError) as refused:
        services.issue_service_key(key, creator=finance)

    assert set(refused.value.message_dict) == {field}
    assert not ServiceKey.objects.exists()


def test_a_superuser_and_the_command_line_mint_any_key(mine):
    root = UserFactory(is_staff=True, is_superuser=True)

    services.issue_service_key(
        ServiceKey(name="a", service="promos", scopes=["promos:draw"]), creator=root
    )
    services.issue_service_key(
        ServiceKey(name="b", service="erp", organization=mine, scopes=["payments:read"])
    )

    assert ServiceKey.objects.count() == 2


def test_the_admin_form_says_no_on_the_field_before_anything_is_stored(finance):
    page = signed_in(finance).post(
        ADD,
        {"name": "x", "service": "x", "organization": OrganizationFactory().pk,
         "scopes": ["payments:read"]},
    )  # fmt: skip

    assert page.status_code == 200
    assert page.context["adminform"].form.errors["organization"]
    assert not ServiceKey.objects.exists()


def test_a_finance_users_narrower_form_does_not_narrow_the_next_superusers(finance):
    def offered_scopes(user):
        form = signed_in(user).get(ADD).context["adminform"].form
        return {value for value, _ in form.fields["scopes"].choices}

    assert "promos:draw" not in offered_scopes(finance)
    superuser = UserFactory(is_staff=True, is_superuser=True)
    assert "promos:draw" in offered_scopes(superuser)
