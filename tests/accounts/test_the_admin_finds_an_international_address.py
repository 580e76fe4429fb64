"""An operator finds a rider whose domain is in another script by the address as a mail
log or a bounce names it (anna@xn--bcher-kva.example: mail goes out with the domain's ASCII
form), not only as the admin shows it (anna@bücher.example). Before, that search found
nobody."""

import pytest
from django.test import Client

from accounts.models import User, readable_domains
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_admin():
    client = Client()
    client.force_login(User.objects.create_superuser("root@example.com", "correct-horse-9"))
    return client


def _found(client, term: str) -> list[str]:
    response = client.get("/admin/accounts/user/", {"q": term})
    assert response.status_code == 200
    return [user.email for user in response.context["cl"].result_list]


@pytest.mark.parametrize(
    "term",
    [
        "anna@xn--bcher-kva.example",
        "xn--bcher-kva",
        "ANNA@XN--BCHER-KVA.EXAMPLE",
        "anna@bücher.example",
        "bücher",
    ],
)
def test_the_user_list_finds_the_rider_by_either_form_of_the_domain(operator_admin, term):
    UserFactory(email="anna@bücher.example")
    UserFactory(email="other@example.com")
    assert _found(operator_admin, term) == ["anna@bücher.example"]


def test_a_term_with_no_such_label_searches_as_typed(operator_admin):
    UserFactory(email="xn--@example.com")
    assert _found(operator_admin, "xn--") == ["xn--@example.com"]


@pytest.mark.parametrize(
    ("text", "readable"),
    [
        ("anna@xn--bcher-kva.example", "anna@bücher.example"),
        ("jo@xn--fsqu00a.xn--0zwm56d", "jo@例子.测试"),
        ("XN--BCHER-KVA", "bücher"),
        ("xn--zz-not-punycode-", "xn--zz-not-punycode-"),
        ("plain text", "plain text"),
    ],
)
def test_readable_domains(text, readable):
    assert readable_domains(text) == readable
