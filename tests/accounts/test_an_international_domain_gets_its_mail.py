"""A rider whose address has a domain in another script (anna@bücher.example) gets the
sign-up and reset e-mails on AWS.

The address is kept readable (anna@bücher.example: the admin, the e-mail's text, the link's
page show it so), and django-ses handed it to SES as it is kept. SES takes 7-bit ASCII
addresses only and refused every such e-mail: the rider was told "we could not send the
e-mail with your code", every new code and reset e-mail was refused the same way, and the
link never came. The mail service now gets the domain's ASCII form (xn--bcher-kva.example),
the form Django already wrote in the To header.
"""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from rest_framework.test import APIClient

from accounts.models import User, mail_address
from tests.factories import UserFactory
from tests.ses_on_aws import ses_on_aws

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "galloping-rainbow-42"


@pytest.fixture
def ses(settings, monkeypatch):
    settings.SITE_URL = "https://rides.wildrydes.example"
    settings.ACCOUNT_ANSWER_FLOOR_SECONDS = 0
    with ses_on_aws(settings, monkeypatch) as sent:
        yield sent


def _link_email(message) -> str:
    link = re.search(r"https://\S+#\S+", message.get_content()).group(0)
    return parse_qs(urlsplit(link).fragment)["email"][0]


def test_the_sign_up_email_reaches_a_domain_in_another_script_on_aws(api, ses):
    response = api.post(
        "/api/auth/register/", {"email": "Anna@Bücher.example", "password": GOOD_PASSWORD}
    )

    assert response.status_code == 201
    assert response.json()["email_sent"] is True
    [(destinations, message)] = ses()
    assert destinations[0] == "anna@xn--bcher-kva.example"
    assert message["To"] == "anna@xn--bcher-kva.example"
    assert "Confirm your e-mail address, anna@bücher.example, with this link:" in (
        message.get_content()
    )
    assert _link_email(message) == "anna@bücher.example"
    assert User.objects.get().email == "anna@bücher.example"


def test_a_new_code_and_the_reset_email_reach_it_too(api, ses):
    UserFactory(email="anna@bücher.example", email_confirmed_at=None)
    assert api.post("/api/auth/resend-code/", {"email": "anna@BÜCHER.example"}).status_code == 202
    UserFactory(email="jo@例子.测试")
    assert (
        api.post("/api/auth/password/reset/", {"email": "jo@xn--fsqu00a.xn--0zwm56d"}).status_code
        == 202
    )

    assert [destinations[0] for destinations, _ in ses()] == [
        "anna@xn--bcher-kva.example",
        "jo@xn--fsqu00a.xn--0zwm56d",
    ]
    assert _link_email(ses()[1][1]) == "jo@例子.测试"


def test_an_ascii_address_is_handed_on_as_it_is(api, ses):
    api.post("/api/auth/register/", {"email": "rider@example.com", "password": GOOD_PASSWORD})
    assert ses()[0][0][0] == "rider@example.com"


@pytest.mark.parametrize(
    ("kept", "sent"),
    [
        ("anna@bücher.example", "anna@xn--bcher-kva.example"),
        ("anna@例子.测试", "anna@xn--fsqu00a.xn--0zwm56d"),
        ("rider@example.com", "rider@example.com"),
        ("", ""),
    ],
)
def test_mail_address_is_the_ascii_form_of_the_kept_one(kept, sent):
    assert mail_address(kept) == sent


def test_the_locmem_outbox_sees_the_same_recipient(api, settings):
    """As the local console does: the address the mail service is given."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    api.post("/api/auth/register/", {"email": "anna@bücher.example", "password": GOOD_PASSWORD})
    assert mail.outbox[-1].recipients() == ["anna@xn--bcher-kva.example"]


def test_every_spelling_of_the_domain_spends_one_budget_of_new_codes(
    generous_sign_in_limits, settings
):
    """The code-mail limit and the sign-in limits key on the kept form: the Unicode domain in
    any case and its xn-- form are one address (accounts.throttles counts canonical_email)."""
    settings.ACCOUNT_ANSWER_FLOOR_SECONDS = 0
    settings.CONFIRMATION_CODE_MAILS_PER_HOUR = 3
    UserFactory(email="anna@bücher.example")
    spellings = ["anna@bücher.example", "ANNA@BÜCHER.EXAMPLE", "anna@xn--bcher-kva.example"]
    statuses = [
        APIClient(REMOTE_ADDR=f"198.51.100.{n}")
        .post("/api/auth/password/reset/", {"email": spelling})
        .status_code
        for n, spelling in enumerate([*spellings, "Anna@Xn--Bcher-Kva.Example"])
    ]
    assert statuses == [202, 202, 202, 429]
    assert len(mail.outbox) == 3
