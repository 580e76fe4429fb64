import pytest
from rest_framework.test import APIClient

from payment_lists.models import PaymentList
from payments.models import Payment
from tests.conftest import client_for
from tests.factories import (
    FinanceFactory,
    OrganizationFactory,
    ServiceKeyFactory,
    SubscriptionFactory,
)
from tests.payment_lists.lists import csv_file, good_rows

pytestmark = pytest.mark.django_db

URL = "/api/payment-lists/"


@pytest.fixture(autouse=True)
def _inline_runner(settings):
    settings.PAYMENT_LIST_RUNNER = "inline"


@pytest.fixture
def organization(finance):
    org = SubscriptionFactory().organization
    org.members.add(finance)
    return org


def upload(client, rows, capture, **extra):
    with capture(execute=True):
        return client.post(URL, {"file": csv_file(rows), **extra}, format="multipart")


def test_finance_uploads_and_gets_202_then_the_import_numbers(
    finance_api, organization, django_capture_on_commit_callbacks
):
    response = upload(finance_api, good_rows(4), django_capture_on_commit_callbacks)
    assert response.status_code == 202
    list_id = response.json()["id"]
    body = finance_api.get(f"{URL}{list_id}/").json()
    assert body["status"] == "imported"
    assert (body["rows_total"], body["rows_imported"], body["errors_count"]) == (4, 4, 0)
    assert body["error_report_url"] is None
    assert PaymentList.objects.get().file.name.startswith(f"inbox/{organization.pk}/")


def test_error_report_is_downloadable_from_the_api(
    finance_api, organization, django_capture_on_commit_callbacks
):
    response = upload(finance_api, ["X-1,,abc,USD,"], django_capture_on_commit_callbacks)
    body = finance_api.get(f"{URL}{response.json()['id']}/").json()
    assert body["status"] == "failed"
    assert body["failure_reason"].startswith("1 problem(s)")
    report = finance_api.get(body["error_report_url"])
    assert report.status_code == 200
    assert report["Content-Type"] == "text/csv; charset=utf-8"
    assert b"2,amount,abc,not a number" in b"".join(report.streaming_content)


def test_the_error_report_opens_in_a_spreadsheet_as_utf8(
    finance_api, organization, django_capture_on_commit_callbacks
):
    """A spreadsheet reads a CSV without a byte-order mark in the computer's own code page:
    josé@ came back as josÃ©@ and Arabic digits as Ù¡Ù¢Ù£, the very values to correct. The
    report starts with the mark (as the admin's CSV exports do) and says utf-8."""
    rows = ["X-1,josé@example.com,١٢٣,USD,"]
    response = upload(finance_api, rows, django_capture_on_commit_callbacks)
    url = finance_api.get(f"{URL}{response.json()['id']}/").json()["error_report_url"]

    report = finance_api.get(url)

    assert report["Content-Type"] == "text/csv; charset=utf-8"
    data = b"".join(report.streaming_content)
    assert data.startswith("\ufeff".encode())
    text = data.decode("utf-8-sig")
    assert "2,payer_email,josé@example.com,not an e-mail address" in text
    assert "2,amount,١٢٣," in text


def test_service_key_of_an_organization_may_submit(
    organization, django_capture_on_commit_callbacks
):
    key = ServiceKeyFactory(organization=organization)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key.plain_key}")
    response = upload(client, good_rows(2), django_capture_on_commit_callbacks)
    assert response.status_code == 202
    assert Payment.objects.filter(organization=organization).count() == 2


def test_service_key_without_an_organization_is_refused(db):
    key = ServiceKeyFactory()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key.plain_key}")
    response = client.post(URL, {"file": csv_file(good_rows(1))}, format="multipart")
    assert response.status_code == 403
    assert not PaymentList.objects.exists()


def test_riders_are_refused(rider_api):
    response = rider_api.post(URL, {"file": csv_file(good_rows(1))}, format="multipart")
    assert response.status_code == 403
    assert rider_api.get(URL).status_code == 403


def test_anonymous_is_401(api):
    assert api.post(URL, {"file": csv_file(good_rows(1))}, format="multipart").status_code == 401


def test_finance_of_another_organization_cannot_see_the_list(
    finance_api, organization, django_capture_on_commit_callbacks
):
    list_id = upload(finance_api, good_rows(1), django_capture_on_commit_callbacks).json()["id"]
    stranger = client_for(FinanceFactory())
    assert stranger.get(f"{URL}{list_id}/").status_code == 404
    assert stranger.get(f"{URL}{list_id}/error-report/").status_code == 404


def test_finance_without_an_organization_cannot_submit(finance_api):
    response = finance_api.post(URL, {"file": csv_file(good_rows(1))}, format="multipart")
    assert response.status_code == 403
    assert "organization" in response.json()["detail"]


def test_missing_or_empty_file_is_400(finance_api, organization):
    assert finance_api.post(URL, {}, format="multipart").json()["file"]
    from django.core.files.uploadedfile import SimpleUploadedFile

    empty = SimpleUploadedFile("e.csv", b"", "text/csv")
    response = finance_api.post(URL, {"file": empty}, format="multipart")
    assert response.status_code == 400
    assert not PaymentList.objects.exists()


MULTIPART = "Send the body as multipart/form-data, with the file in a field named 'file'."


@pytest.mark.parametrize(
    ("body", "content_type"),
    [('{"file": "a,b"}', "application/json"), (b"reference,payer_email\n", "text/csv")],
)
def test_a_json_or_csv_body_is_a_415_asking_for_multipart_with_a_file_field(
    finance_api, organization, body, content_type
):
    response = finance_api.post(URL, body, content_type=content_type)

    assert response.status_code == 415
    assert response.json() == {"detail": MULTIPART}
    assert not PaymentList.objects.exists()


def test_a_malformed_multipart_body_is_a_400_asking_for_multipart_with_a_file_field(
    finance_api, organization
):
    response = finance_api.post(URL, b"not a form", content_type="multipart/form-data")

    assert response.status_code == 400
    assert response.json() == {
        "detail": "The request body is not valid multipart/form-data. Send it as "
        "multipart/form-data, with the file in a field named 'file'."
    }
    assert not PaymentList.objects.exists()


def test_a_json_endpoint_still_asks_for_json(finance_api):
    wrong_type = finance_api.post("/api/payments/", b"amount=1", content_type="text/plain")
    broken = finance_api.post("/api/payments/", b"{nope", content_type="application/json")

    assert (wrong_type.status_code, broken.status_code) == (415, 400)
    assert wrong_type.json() == {
        "detail": "Send the body as JSON (Content-Type: application/json)."
    }
    assert broken.json() == {"detail": "The request body is not valid JSON."}


def test_oversize_upload_is_refused_early(finance_api, organization, settings):
    settings.FILE_UPLOAD_MAX_SIZE = 1000
    response = finance_api.post(URL, {"file": csv_file(good_rows(100))}, format="multipart")
    assert response.status_code == 413
    assert "too large" in response.json()["detail"]
    assert not PaymentList.objects.exists()


def test_choosing_an_organization_one_does_not_act_for_is_400(finance_api, organization):
    other = OrganizationFactory()
    response = finance_api.post(
        URL, {"file": csv_file(good_rows(1)), "organization": other.pk}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["organization"]


def test_the_api_says_where_a_list_stands_with_unknown_totals_as_null(finance_api, organization):
    running = PaymentList.objects.create(
        organization=organization, submitted_by="finance", status="validating",
        current_step="ValidateList", rows_validated=500,
    )  # fmt: skip
    body = finance_api.get(f"{URL}{running.pk}/").json()
    assert (body["status"], body["status_display"]) == ("validating", "checking the file")
    assert body["rows_total"] is None
    progress = body["progress"]
    assert (progress["step"], progress["done"], progress["total"]) == (
        "checking the rows", 500, None,
    )  # fmt: skip
    assert "the total is known once the whole file has been read" in progress["description"]
    assert progress["finished"] is False


def test_the_api_gives_totals_per_currency_and_a_failure_in_words(
    finance_api, organization, django_capture_on_commit_callbacks
):
    rows = ["T-1,,10.00,USD,", "T-2,,2.50,EUR,", "T-3,,1.25,USD,"]
    imported = upload(finance_api, rows, django_capture_on_commit_callbacks).json()
    body = finance_api.get(f"{URL}{imported['id']}/").json()
    assert body["totals"] == [
        {"amount": "2.50", "currency": "EUR"},
        {"amount": "11.25", "currency": "USD"},
    ]
    assert body["progress"]["description"] == "Imported: all 3 payments are registered."

    organization.subscriptions.update(max_rows_per_list=1)
    failed = upload(finance_api, good_rows(2), django_capture_on_commit_callbacks).json()
    body = finance_api.get(f"{URL}{failed['id']}/").json()
    assert (body["status"], body["failed_step"]) == ("failed", "VerifySubscription")
    assert body["failed_during"] == "checking the subscription"
    assert body["progress"]["description"].startswith("Failed while checking the subscription:")
