"""An address with letters outside ASCII before the @ (josé@correo.españa.example) cannot
be signed up: no mail reaches it from here (Amazon SES does not support SMTPUTF8, and
Django's validator refuses it). The page said "Enter an e-mail address like
name@example.com." to a person whose address looks just like that; it now says what is
wrong with it. Full-width letters and the like, which are the plain ones, still pass."""

import pytest
from django.core import mail

from accounts.models import User

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "galloping-rainbow-42"


@pytest.mark.parametrize(
    ("email", "letter"),
    [
        ("josé@correo.españa.example", "é"),
        ("JOSÉ@example.com", "é"),
        ("Ελένη@example.gr", "ε"),
        ("ana.maría+rides@example.com", "í"),
    ],
)
def test_sign_up_names_the_letter_no_mail_can_carry(api, email, letter):
    response = api.post("/api/auth/register/", {"email": email, "password": GOOD_PASSWORD})

    assert response.status_code == 400
    assert response.json()["email"] == [
        f"We can't send e-mail to an address with “{letter}” before the @. "
        "Please use another address."
    ]
    assert not User.objects.exists()
    assert mail.outbox == []


def test_full_width_letters_before_the_at_are_the_plain_ones(api):
    response = api.post(
        "/api/auth/register/",
        {"email": "\uff4a\uff4f\uff53\uff45@example.com", "password": GOOD_PASSWORD},
    )
    assert response.status_code == 201
    assert User.objects.get().email == "jose@example.com"


def test_the_reset_page_asking_for_such_an_address_says_it_too(api):
    response = api.post("/api/auth/password/reset/", {"email": "josé@example.com"})
    assert response.status_code == 400
    assert "“é” before the @" in response.json()["email"][0]
