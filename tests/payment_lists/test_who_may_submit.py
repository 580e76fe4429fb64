"""Who may submit a payment list for which organization: one rule
(payment_lists.services.submitting_organization), the same through the API and the
admin's upload page."""

import pytest
from django.core.exceptions import ValidationError

from accounts.models import User
from payment_lists import services
from payment_lists.models import PaymentList
from tests.admin.conftest import signed_in
from tests.conftest import client_for
from tests.factories import FinanceFactory, OperatorFactory
from tests.payment_lists.lists import csv_file, good_rows

pytestmark = pytest.mark.django_db

API = "/api/payment-lists/"
UPLOAD = "/admin/payment_lists/paymentlist/upload/"


def through_the_api(user, **fields):
    return client_for(user).post(API, {"file": csv_file(good_rows(1)), **fields}, "multipart")


def through_the_admin(user, organization):
    return signed_in(user).post(
        UPLOAD, {"file": csv_file(good_rows(1)), "organization": organization.pk}
    )


def offered(user) -> list:
    page = signed_in(user).get(UPLOAD)
    return list(page.context["form"].fields["organization"].queryset)


def test_finance_submits_for_its_organization_through_either_door(mine):
    finance = FinanceFactory(organizations=[mine])

    assert through_the_api(finance).status_code == 202
    assert through_the_admin(finance, mine).status_code == 302
    assert [pl.organization for pl in PaymentList.objects.all()] == [mine, mine]
    assert offered(finance) == [mine]


def test_finance_may_not_submit_for_another_organization_through_either_door(mine, theirs):
    finance = FinanceFactory(organizations=[mine])

    api = through_the_api(finance, organization=theirs.pk)
    page = through_the_admin(finance, theirs)

    assert api.status_code == 400
    assert api.json() == {"organization": ["You cannot submit for that organization."]}
    assert page.status_code == 200
    assert page.context["form"].errors["organization"]
    assert not PaymentList.objects.exists()


def test_a_superuser_may_submit_for_any_organization_through_either_door(mine, theirs):
    root = User.objects.create_superuser("root@example.com", "correct-horse-battery")

    api = through_the_api(root, organization=theirs.pk)
    page = through_the_admin(root, mine)

    assert (api.status_code, page.status_code) == (202, 302)
    assert {pl.organization for pl in PaymentList.objects.all()} == {mine, theirs}
    assert offered(root) == [mine, theirs]
    assert through_the_api(root).json() == {
        "organization": ["You act for several organizations: choose one."]
    }


def test_staff_without_the_payment_permission_may_submit_through_neither_door(mine):
    operator = OperatorFactory()
    mine.members.add(operator)

    api = through_the_api(operator)
    page = through_the_admin(operator, mine)

    assert api.status_code == 403
    assert (page.status_code, page.url) == (302, "/admin/payment_lists/paymentlist/")
    assert not PaymentList.objects.exists()
    assert not services.may_submit_lists(user=operator)


def test_finance_of_no_organization_is_refused_and_offered_none():
    finance = FinanceFactory()

    api = through_the_api(finance)

    assert api.status_code == 403
    assert api.json() == {
        "detail": "You do not act for any organization, so you cannot submit lists."
    }
    assert offered(finance) == []


def test_the_rule_takes_only_an_organization_id_made_of_ascii_digits(mine):
    finance = FinanceFactory(organizations=[mine])

    assert services.submitting_organization(user=finance, chosen=str(mine.pk)) == mine
    for chosen in ("²", "1" * 20, "Mine Ltd", str(mine.pk + 1000)):
        with pytest.raises(ValidationError):
            services.submitting_organization(user=finance, chosen=chosen)
