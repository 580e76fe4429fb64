"""Sign-up survives a mail service that refuses the e-mail (issue 16, item 7)."""

import re

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend

from accounts.models import ConfirmationCode, User

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "galloping-rainbow-42"


class RefusingBackend(EmailBackend):
    """Like SES in its sandbox: the address is not verified."""

    def send_messages(self, messages):
        raise ConnectionRefusedError("Email address is not verified.")


@pytest.fixture
def refusing_mail(settings):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"


def test_sign_up_keeps_the_account_and_says_the_mail_failed(api, refusing_mail):
    response = api.post(
        "/api/auth/register/", {"email": "new@example.com", "password": GOOD_PASSWORD}
    )

    assert response.status_code == 201
    body = response.json()
    assert body["email_sent"] is False
    assert "could not send" in body["detail"]
    assert "Ask for a new code" in body["detail"]
    user = User.objects.get(email="new@example.com")
    assert not user.is_confirmed
    assert ConfirmationCode.objects.filter(user=user).exists()


def test_after_a_failed_mail_the_person_asks_again_and_confirms(api, refusing_mail, settings):
    api.post("/api/auth/register/", {"email": "new@example.com", "password": GOOD_PASSWORD})

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    again = api.post("/api/auth/resend-code/", {"email": "new@example.com"})
    code = re.search(r"code is (\d{6})", mail.outbox[-1].body).group(1)
    confirmed = api.post("/api/auth/confirm/", {"email": "new@example.com", "code": code})

    assert again.status_code == 202
    assert confirmed.status_code == 200


def test_signing_up_again_after_a_failed_mail_says_to_ask_for_a_new_code(api, refusing_mail):
    api.post("/api/auth/register/", {"email": "new@example.com", "password": GOOD_PASSWORD})
    response = api.post(
        "/api/auth/register/", {"email": "new@example.com", "password": GOOD_PASSWORD}
    )
    assert response.status_code == 400
    assert "ask for a new code" in response.json()["email"][0]


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/api/auth/resend-code/", {"email": "new@example.com"}),
        ("/api/auth/password/reset/", {"email": "new@example.com"}),
    ],
)
def test_a_failed_mail_is_never_a_500_after_the_commit(api, refusing_mail, url, body):
    api.post("/api/auth/register/", {"email": "new@example.com", "password": GOOD_PASSWORD})
    assert api.post(url, body).status_code == 202
