"""Each group sees and changes only what it may: in the admin and through the API."""

import pytest

from rides.models import Ride
from tests.admin.conftest import signed_in
from tests.conftest import client_for
from tests.factories import (
    FinanceFactory,
    OperatorFactory,
    PaymentFactory,
    RideFactory,
    UnicornFactory,
)

pytestmark = pytest.mark.django_db

OK, FORBIDDEN = 200, 403

# Admin page: (Operators, Finance)
CHANGELISTS = {
    "/admin/rides/unicorn/": (OK, FORBIDDEN),
    "/admin/rides/ride/": (OK, FORBIDDEN),
    "/admin/rides/unicornapplication/": (OK, FORBIDDEN),
    "/admin/promos/campaign/": (OK, FORBIDDEN),
    "/admin/promos/discountaward/": (OK, FORBIDDEN),
    "/admin/bi/dailyaggregate/": (OK, FORBIDDEN),
    "/admin/bi/campaigndailyspend/": (OK, FORBIDDEN),
    "/admin/bi/dailyaggregate/dashboard/": (OK, FORBIDDEN),
    "/admin/bi/dailyaggregate/dashboard/live/": (OK, FORBIDDEN),
    "/admin/events/deadletter/": (OK, OK),
    "/admin/events/outboxevent/": (OK, OK),
    "/admin/payments/payment/": (FORBIDDEN, OK),
    "/admin/payment_lists/paymentlist/": (FORBIDDEN, OK),
    "/admin/organizations/organization/": (FORBIDDEN, OK),
    "/admin/payments/subscription/": (FORBIDDEN, OK),
    "/admin/accounts/servicekey/": (FORBIDDEN, OK),
    "/admin/accounts/user/": (FORBIDDEN, FORBIDDEN),
    "/admin/auth/group/": (FORBIDDEN, FORBIDDEN),
    "/admin/authtoken/tokenproxy/": (FORBIDDEN, FORBIDDEN),
    "/admin/notifications/notification/": (FORBIDDEN, FORBIDDEN),
}

ADD_PAGES = {
    "/admin/rides/unicorn/add/": (OK, FORBIDDEN),
    "/admin/promos/campaign/add/": (OK, FORBIDDEN),
    "/admin/organizations/organization/add/": (FORBIDDEN, OK),
    "/admin/payments/subscription/add/": (FORBIDDEN, OK),
    "/admin/accounts/servicekey/add/": (FORBIDDEN, OK),
    # Made by services only, never by hand:
    "/admin/rides/ride/add/": (FORBIDDEN, FORBIDDEN),
    "/admin/payments/payment/add/": (FORBIDDEN, FORBIDDEN),
    "/admin/events/deadletter/add/": (FORBIDDEN, FORBIDDEN),
}


def _cases(table):
    for url, (operators, finance) in table.items():
        yield pytest.param(OperatorFactory, url, operators, id=f"Operators {url}")
        yield pytest.param(FinanceFactory, url, finance, id=f"Finance {url}")


@pytest.mark.parametrize(("factory", "url", "status"), list(_cases(CHANGELISTS)))
def test_admin_changelist_is_open_only_to_the_group_that_owns_it(factory, url, status):
    assert signed_in(factory()).get(url).status_code == status


@pytest.mark.parametrize(("factory", "url", "status"), list(_cases(ADD_PAGES)))
def test_admin_add_page_is_open_only_to_the_group_that_may_add(factory, url, status):
    assert signed_in(factory()).get(url).status_code == status


def test_the_admin_index_lists_only_the_groups_own_models(operator_client, finance_client):
    operator_page = operator_client.get("/admin/").content.decode()
    finance_page = finance_client.get("/admin/").content.decode()
    assert "/admin/rides/unicorn/" in operator_page
    assert "/admin/payments/payment/" not in operator_page
    assert "/admin/bi/dailyaggregate/dashboard/" in operator_page
    assert "/admin/payments/payment/" in finance_page
    assert "/admin/rides/unicorn/" not in finance_page
    assert "/admin/bi/dailyaggregate/dashboard/" not in finance_page


def test_finance_cannot_run_the_operators_cancel_action(finance_client):
    ride = RideFactory()
    response = finance_client.post(
        "/admin/rides/ride/", {"action": "cancel_selected_rides", "_selected_action": [ride.pk]}
    )
    assert response.status_code == FORBIDDEN
    ride.refresh_from_db()
    assert ride.status == Ride.Status.ASSIGNED


def test_operators_cannot_verify_payments_in_the_admin(operator_client):
    payment = PaymentFactory()
    response = operator_client.post(
        "/admin/payments/payment/",
        {"action": "verify_selected", "_selected_action": [payment.pk]},
    )
    assert response.status_code == FORBIDDEN
    payment.refresh_from_db()
    assert payment.status == "registered"


def test_operators_cannot_open_the_payment_list_upload(operator_client):
    response = operator_client.get("/admin/payment_lists/paymentlist/upload/")
    assert response.status_code == 302  # back to the list, which refuses them (403)
    assert operator_client.get(response["Location"]).status_code == FORBIDDEN


# --- The API follows the same permissions ---------------------------------------------


PAYMENT = {"amount": "12.50", "currency": "USD", "reference": "INV-1"}


@pytest.mark.parametrize(("factory", "status"), [(OperatorFactory, 403), (FinanceFactory, 201)])
def test_api_registers_payments_for_finance_only(factory, status):
    assert client_for(factory()).post("/api/payments/", PAYMENT).status_code == status


@pytest.mark.parametrize(("factory", "status"), [(OperatorFactory, 403), (FinanceFactory, 200)])
def test_api_verifies_payments_for_finance_only(factory, status):
    payment = PaymentFactory()
    response = client_for(factory()).post(f"/api/payments/{payment.pk}/verify/")
    assert response.status_code == status


@pytest.mark.parametrize(("factory", "status"), [(OperatorFactory, 403), (FinanceFactory, 204)])
def test_api_deletes_payments_for_finance_only(factory, status):
    payment = PaymentFactory()
    assert client_for(factory()).delete(f"/api/payments/{payment.pk}/").status_code == status


@pytest.mark.parametrize(("factory", "count"), [(OperatorFactory, 0), (FinanceFactory, 1)])
def test_api_lists_other_peoples_payments_to_finance_only(factory, count):
    PaymentFactory()
    response = client_for(factory()).get("/api/payments/")
    assert response.status_code == 200
    assert response.json()["count"] == count


def test_api_refuses_payment_lists_from_operators():
    response = client_for(OperatorFactory()).post("/api/payment-lists/", {}, format="multipart")
    assert response.status_code == 403


@pytest.mark.parametrize(("factory", "status"), [(OperatorFactory, 200), (FinanceFactory, 404)])
def test_api_lets_operators_but_not_finance_cancel_any_ride(factory, status):
    ride = RideFactory(unicorn=UnicornFactory(is_available=False))
    response = client_for(factory()).post(f"/api/rides/{ride.pk}/cancel/")
    assert response.status_code == status
