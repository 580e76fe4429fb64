"""A reset link (or code) is for the password the account had when it was asked for. A rider
who asked for one, then remembered the password and changed it on the account page (or
changed it because the mailbox may be read by someone else), kept a live reset link in the
mailbox for the rest of its 15 minutes: whoever opened it set the password again, over the
one the rider just chose. Measured: 200 'Your password is changed' with the old link after a
change (the rider's new password no longer worked). Now changing the password ends the
account's pending reset link and code, as a reset itself does."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from rest_framework.test import APIClient

from tests.conftest import client_for
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

CHOSEN = "the-riders-own-choice-58"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://rides.example.com"
    settings.ACCOUNT_ANSWER_FLOOR_SECONDS = 0


def test_a_reset_link_asked_for_before_a_password_change_no_longer_works():
    rider = UserFactory(email="rita@example.com")
    APIClient().post("/api/auth/password/reset/", {"email": "rita@example.com"})
    body = mail.outbox[-1].body
    link = re.search(r"https://rides\.example\.com/\S+", body).group(0)
    token = parse_qs(urlsplit(link).fragment)["token"][0]
    code = re.search(r"code is (\d{6})", body).group(1)

    changed = client_for(rider).post(
        "/api/auth/password/change/",
        {"current_password": PASSWORD, "new_password": CHOSEN},
        format="json",
    )
    assert changed.status_code == 200, changed.json()

    for secret in ({"token": token}, {"code": code}):
        body = {"email": "rita@example.com", "new_password": "someone-elses-pick-93", **secret}
        refused = APIClient().post("/api/auth/password/reset/confirm/", body, format="json")
        assert refused.status_code == 400, (secret, refused.json())
    rider.refresh_from_db()
    assert rider.check_password(CHOSEN), "the password the rider chose still works"
    # A new e-mail works as always.
    APIClient().post("/api/auth/password/reset/", {"email": "rita@example.com"})
    fresh = re.search(r"https://rides\.example\.com/\S+", mail.outbox[-1].body).group(0)
    body = {
        "email": "rita@example.com",
        "token": parse_qs(urlsplit(fresh).fragment)["token"][0],
        "new_password": "a-fresh-reset-64",
    }
    assert APIClient().post("/api/auth/password/reset/confirm/", body).status_code == 200
