import pytest
from django.test import Client

from accounts.models import User


def signed_in(user) -> Client:
    """A browser-like test client with `user`'s admin session."""
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def operator_client(operator):
    return signed_in(operator)


@pytest.fixture
def finance_client(finance):
    return signed_in(finance)


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root@example.com", "correct-horse-battery")


@pytest.fixture
def superuser_client(superuser):
    return signed_in(superuser)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]
