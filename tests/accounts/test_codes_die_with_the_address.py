"""A code proves the mailbox it was sent to. When an operator changes an account's address
(a rider lost the old mailbox), a reset or confirmation code e-mailed to the old address
kept working with the new one: whoever holds the old mailbox could set the password within
the code's 15 minutes.
"""

import re

import pytest
from django.core import mail
from rest_framework.test import APIClient

from accounts.models import ConfirmationCode, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-secret-77"


def code_in_last_mail() -> str:
    return re.search(r"code is (\d{6})", mail.outbox[-1].body).group(1)


def test_a_reset_code_sent_to_the_old_address_dies_when_the_address_changes(client):
    rider = UserFactory(email="old@example.com", full_name="Rita")
    APIClient().post("/api/auth/password/reset/", {"email": "old@example.com"})
    old_code = code_in_last_mail()

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.post(
        f"/admin/accounts/user/{rider.pk}/change/",
        {"email": "new@example.com", "full_name": "Rita", "is_active": "on", "_save": "Save"},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert User.objects.get(pk=rider.pk).email == "new@example.com"

    body = {"email": "new@example.com", "code": old_code, "new_password": NEW_PASSWORD}
    refused = APIClient().post("/api/auth/password/reset/confirm/", body)
    assert refused.status_code == 400
    assert not User.objects.get(pk=rider.pk).check_password(NEW_PASSWORD)

    # A code sent to the new address works.
    APIClient().post("/api/auth/password/reset/", {"email": "new@example.com"})
    assert mail.outbox[-1].to == ["new@example.com"]
    body["code"] = code_in_last_mail()
    assert APIClient().post("/api/auth/password/reset/confirm/", body).status_code == 200


def test_saving_an_account_without_changing_its_address_keeps_its_codes():
    rider = UserFactory(email="late@example.com", email_confirmed_at=None)
    APIClient().post("/api/auth/resend-code/", {"email": "late@example.com"})
    rider.refresh_from_db()
    rider.full_name = "Late Rider"
    rider.save()
    assert ConfirmationCode.objects.filter(user=rider).exists()
    body = {"email": "late@example.com", "code": code_in_last_mail()}
    assert APIClient().post("/api/auth/confirm/", body).status_code == 200
