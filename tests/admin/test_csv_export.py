"""Any change list exports as CSV: its own columns, formulas neutralised."""

import csv
import io
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import RequestFactory

from tests.factories import PaymentFactory, RideFactory, UnicornFactory, UserFactory

pytestmark = pytest.mark.django_db


def export(client, url, objects=(), **params):
    data = {"action": "export_as_csv", "_selected_action": [o.pk for o in objects] or ["x"]}
    response = client.post(url, {**data, **params})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return response, list(csv.reader(io.StringIO(text)))


def test_export_writes_the_list_display_columns_of_the_selected_rows(operator_client):
    shadowfax = UnicornFactory(name="Shadowfax", color="white", on_duty=False)
    UnicornFactory(name="Not selected")

    response, rows = export(operator_client, "/admin/rides/unicorn/", [shadowfax])

    assert response["Content-Disposition"].startswith('attachment; filename="rides-unicorn-')
    header, *body = rows
    assert header == [
        "Name", "On duty", "Is available", "Ride now", "Colour", "Gender", "Position (lat, lng)",
        "Updated at",
    ]  # fmt: skip
    assert len(body) == 1
    assert body[0][:6] == ["Shadowfax", "no", "yes", "", "white", "female"]


def test_export_neutralises_formulas_in_text_cells(operator_client):
    evil = UnicornFactory(name='=HYPERLINK("http://evil.example","click")', color="@SUM(A1)")
    _, rows = export(operator_client, "/admin/rides/unicorn/", [evil])
    assert rows[1][0] == '\'=HYPERLINK("http://evil.example","click")'
    assert rows[1][4] == "'@SUM(A1)"  # the colour, after on duty, available, ride now


def test_export_uses_display_methods_and_related_objects(operator_client):
    rider = UserFactory(email="-rider@example.com")
    ride = RideFactory(rider=rider, fare_minor=1999)
    _, rows = export(operator_client, "/admin/rides/ride/", [ride])
    header, row = rows
    assert header[:5] == ["Reference", "Status", "Unicorn", "Rider", "Fare"]
    assert row[0] == ride.reference
    assert row[3] == "'-rider@example.com"  # a related object's text is neutralised too
    assert row[1] == "assigned"
    assert row[4] == "$19.99"


def test_export_strips_html_from_display_columns(finance_client):
    PaymentFactory(reference="INV-9", amount_minor=1250)
    _, rows = export(finance_client, "/admin/payments/payment/", select_across="1", index="0")
    assert rows[0][:4] == ["Reference", "Amount", "Amount currency", "Status"]
    assert rows[1][:4] == ["INV-9", "12.50", "USD", "registered"]


def test_export_gives_amounts_as_numbers_a_spreadsheet_adds_up_per_currency(finance_client):
    """Finance sums a day's payments in a spreadsheet: "$1,250.00" is text to it."""
    amounts = [("USD", 125_000), ("USD", 1), ("EUR", 99_999), ("GBP", 5)]
    for n, (currency, minor) in enumerate(amounts):
        PaymentFactory(reference=f"SUM-{n}", amount_minor=minor, currency=currency)
    _, rows = export(finance_client, "/admin/payments/payment/", select_across="1", index="0")
    amount, currency = rows[0].index("Amount"), rows[0].index("Amount currency")

    totals = {}
    for row in rows[1:]:
        totals[row[currency]] = totals.get(row[currency], 0) + Decimal(row[amount])
    assert totals == {"USD": Decimal("1250.01"), "EUR": Decimal("999.99"), "GBP": Decimal("0.05")}


def test_export_of_a_filtered_list_across_pages_takes_every_matching_row(operator_client):
    for n in range(3):
        UnicornFactory(name=f"Busy {n}", on_duty=True)
    UnicornFactory(name="Resting", on_duty=False)
    _, rows = export(
        operator_client, "/admin/rides/unicorn/?on_duty__exact=1", select_across="1", index="0"
    )
    assert sorted(row[0] for row in rows[1:]) == ["Busy 0", "Busy 1", "Busy 2"]


def test_export_needs_only_the_view_permission_of_that_list(finance_client, operator_client):
    unicorn = UnicornFactory()
    refused = finance_client.post(
        "/admin/rides/unicorn/", {"action": "export_as_csv", "_selected_action": [unicorn.pk]}
    )
    assert refused.status_code == 403
    _, rows = export(operator_client, "/admin/promos/discountaward/", select_across="1", index="0")
    assert rows[0][0] == "Created at"  # read-only lists export too


def test_every_admin_with_actions_offers_the_export(superuser):
    request = RequestFactory().get("/admin/")
    request.user = superuser
    registered = [model for model in apps.get_models() if admin.site.is_registered(model)]
    assert len(registered) > 10
    for model in registered:
        model_admin = admin.site.get_model_admin(model)
        if model_admin.actions is None:
            continue  # e.g. API tokens: secrets are never exported
        assert "export_as_csv" in model_admin.get_actions(request), model
