"""Hostile input answers 4xx with a sentence, never a 500, and records nothing.

Each case here once answered 500 (issue 16): numbers no float holds, JSON nested thousands
of levels deep sent anonymously, unicode digits where an id is expected, dashboard dates at
the ends of the calendar, and a CSRF failure under /api/ answered with an HTML page.
"""

import io

import pytest
from rest_framework.test import APIClient

from rides.models import Ride, UnicornApplication
from tests import factories
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

HUGE = 10**400  # valid JSON, an integer no float holds (float() raises OverflowError)


def _sentence(response) -> str:
    body = response.json()
    detail = body.get("detail") if isinstance(body, dict) else None
    text = detail if isinstance(detail, str) else str(body)
    assert len(text) > 10, body
    return text


def deep(levels: int, inner="1") -> str:
    return "[" * levels + inner + "]" * levels


@pytest.mark.parametrize("where", ["pickup", "dropoff"])
@pytest.mark.parametrize("field", ["latitude", "longitude"])
def test_a_coordinate_no_float_holds_is_refused_when_booking(rider_api, where, field):
    factories.UnicornFactory()
    body = {"pickup": {"latitude": 47.6062, "longitude": -122.3321}}
    body[where] = {"latitude": 47.61, "longitude": -122.33, field: HUGE}
    response = rider_api.post("/api/rides/", body)
    assert response.status_code == 400
    assert "finite number" in str(response.json())
    assert not Ride.objects.exists()


def test_a_coordinate_no_float_holds_is_refused_by_the_estimate(rider_api):
    body = {"pickup": {"latitude": HUGE, "longitude": -122.3321}}
    response = rider_api.post("/api/rides/estimate/", body)
    assert response.status_code == 400
    assert "finite number" in str(response.json())


def test_a_coordinate_no_float_holds_is_refused_by_the_promo_draw():
    staff = factories.OperatorFactory()
    factories.CampaignFactory()
    body = {"username": "someone", "latitude": 47.6, "longitude": -(10**400)}
    response = client_for(staff).post("/api/promos/discounts/", body)
    assert response.status_code == 400
    assert "finite number" in str(response.json())


@pytest.mark.parametrize(
    "path", ["/api/auth/register/", "/api/unicorn-applications/", "/api/auth/token/"]
)
@pytest.mark.parametrize("levels", [5000, 100])
def test_deeply_nested_json_from_anyone_is_a_400_with_a_sentence(path, levels):
    response = APIClient().post(path, deep(levels), content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in _sentence(response)
    assert not UnicornApplication.objects.exists()


def test_deep_objects_are_refused_too(rider_api):
    body = '{"a":' * 3000 + "1" + "}" * 3000
    response = rider_api.post("/api/rides/", body, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in _sentence(response)


def test_ordinary_nesting_still_works(rider_api):
    factories.UnicornFactory()
    response = rider_api.post(
        "/api/rides/estimate/", {"pickup": {"latitude": 47.6062, "longitude": -122.3321}}
    )
    assert response.status_code == 200


def test_broken_json_still_says_so(rider_api):
    response = rider_api.post("/api/rides/", "{nope", content_type="application/json")
    assert response.status_code == 400
    assert _sentence(response) == "The request body is not valid JSON."


def test_a_csrf_failure_under_the_api_answers_json():
    client = APIClient(enforce_csrf_checks=True)
    response = client.post(
        "/api/auth/login/", {"email": "a@example.com", "password": "x"}, format="json"
    )
    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/json")
    assert "CSRF" in _sentence(response)


def test_a_csrf_failure_on_a_page_keeps_the_html_page(rider):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(factories.OperatorFactory())
    response = client.post("/admin/logout/")
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")


DASHBOARD = "/admin/bi/dailyaggregate/dashboard/"


@pytest.fixture
def operator_client(operator):
    from tests.admin.conftest import signed_in

    return signed_in(operator)


@pytest.mark.parametrize(
    "params",
    [
        {"to": "0001-01-01"},
        {"from": "0001-01-01"},
        {"from": "9999-12-31"},
        {"to": "9999-12-31"},
        {"from": "0001-01-01", "to": "0001-01-02"},
    ],
)
def test_dashboard_dates_at_the_ends_of_the_calendar_are_refused(operator_client, params):
    response = operator_client.get(DASHBOARD, params)
    assert response.status_code == 400
    assert b"Choose dates between" in response.content
    assert (response.context["end"] - response.context["start"]).days == 13


def test_a_dashboard_start_alone_cannot_stretch_past_the_cap(operator_client):
    from bi.dashboard import MAX_DAYS

    response = operator_client.get(DASHBOARD, {"from": "2000-01-01"})
    assert response.status_code == 200
    assert (response.context["end"] - response.context["start"]).days + 1 <= MAX_DAYS


@pytest.fixture
def finance_of_an_organization(finance, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.PAYMENT_LIST_RUNNER = "inline"
    factories.OrganizationFactory().members.add(finance)
    return client_for(finance)


@pytest.mark.parametrize("organization", ["²", "\uff11", "9" * 30, "1e3", " 1"])
def test_an_organization_that_is_no_id_is_a_400_on_upload(finance_of_an_organization, organization):
    from tests.payment_lists.lists import csv_file, good_rows

    response = finance_of_an_organization.post(
        "/api/payment-lists/",
        {"file": csv_file(good_rows(1)), "organization": organization},
        format="multipart",
    )
    assert response.status_code == 400
    assert "organization" in response.json()


def test_the_error_report_is_bounded_and_counts_what_it_left_out(
    settings, tmp_path, django_capture_on_commit_callbacks
):
    """A garbage list: many bad rows with huge values. The report names at most
    PAYMENT_LIST_ERROR_REPORT_MAX_ROWS problems, values cut short, and says how many more."""
    import csv
    import io

    from payment_lists import services as list_services
    from tests.payment_lists.lists import csv_file

    settings.MEDIA_ROOT = tmp_path
    settings.PAYMENT_LIST_RUNNER = "inline"
    settings.PAYMENT_LIST_ERROR_REPORT_MAX_ROWS = 10
    rows = [f"ref-{n},,{'9' * 5000},USD," for n in range(40)]
    with django_capture_on_commit_callbacks(execute=True):  # the import starts at the commit
        payment_list = list_services.submit_payment_list(
            organization=factories.OrganizationFactory(),
            uploaded_file=csv_file(rows),
            submitted_by="finance@example.com",
        )
    payment_list.refresh_from_db()
    assert payment_list.errors_count >= 40
    with payment_list.error_report.open("rb") as report:
        data = report.read()
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(lines) == 1 + 10 + 1  # header, ten problems, the count of the rest
    assert f"{payment_list.errors_count - 10:,} more problem(s)" in lines[-1][3]
    assert len(data) < 10 * 400


@pytest.mark.parametrize(
    "reference",
    ['"new\nline"', "right\u202eleft", "unicorn\U0001f984", "with space", "semi;colon"],
    ids=["newline", "bidi-override", "emoji", "space", "semicolon"],
)
def test_list_rows_refuse_the_references_the_api_refuses(reference, finance):
    """One rule for a reference, whether it comes through the API or a list's row."""
    from payment_lists import rows as list_rows

    api = client_for(finance).post(
        "/api/payments/",
        {"amount": "1.00", "currency": "USD", "reference": reference.strip('"')},
    )
    assert api.status_code == 400
    text = io.StringIO(",".join(list_rows.HEADER) + f"\n{reference},,1.00,USD,\n")
    ((number, cells),) = list(list_rows.read_rows(text))
    _, errors = list_rows.check_row(number, cells, list_rows.known_currencies())
    assert [error.column for error in errors] == ["reference"]
