"""Hostile text in what is not a page: e-mails and the API's JSON.

E-mails are plain text only (no HTML part a mail client would render), and carry the text
literally. The pages are tested in Chromium (tests/browser/test_hostile_text.py); CSV
exports in tests/security/test_csv_injection.py and tests/admin/test_csv_export.py.
"""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from payment_lists import services as list_services
from payments.models import Subscription
from tests import factories
from tests.payment_lists.lists import csv_file, good_rows

pytestmark = pytest.mark.django_db

HOSTILE = '<img src=x onerror=window.__xss=1>"><script>window.__xss=2</script>'
FILE_NAME = '<img src=x onerror=window.__xss=1>"><b>bold'  # no "/": a file name keeps it


def _plain_only(message) -> None:
    assert message.content_subtype == "plain"
    assert not getattr(message, "alternatives", None), "an HTML part would be rendered"


@pytest.mark.parametrize("rows", [good_rows(2), ["bad,,-1,USD,"]], ids=["imported", "failed"])
def test_the_list_outcome_mail_is_plain_text_with_the_file_name_as_written(
    rows, django_capture_on_commit_callbacks, settings
):
    settings.PAYMENT_LIST_RUNNER = "inline"
    organization = factories.OrganizationFactory()
    Subscription.objects.create(
        organization=organization, plan="p", starts_at=timezone.now() - timedelta(days=1),
        max_rows_per_list=100, max_total_minor_per_list=10**7,
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        list_services.submit_payment_list(
            organization=organization,
            uploaded_file=csv_file(rows, name=f"{FILE_NAME}.csv"),
            submitted_by="finance@example.com",
            submitter_email="finance@example.com",
        )
    (message,) = mail.outbox
    _plain_only(message)
    assert "\n" not in message.subject
    assert FILE_NAME in message.body


def test_sign_up_mail_is_plain_text(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = APIClient().post(
            "/api/auth/register/",
            {"email": "new-rider@example.com", "password": "a-long-enough-pass-7731"},
            format="json",
        )
    assert response.status_code == 201
    assert mail.outbox
    for message in mail.outbox:
        _plain_only(message)


def test_the_api_returns_hostile_names_as_data_never_as_markup(rider_api, rider):
    unicorn = factories.UnicornFactory(name=HOSTILE)
    factories.RideFactory(rider=rider, unicorn=unicorn)
    response = rider_api.get("/api/rides/")
    assert response["Content-Type"].startswith("application/json")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.json()["results"][0]["unicorn"]["name"] == HOSTILE
