"""The heavy change lists cost the same number of queries at 10 rows and at many.

Many is 150: a full page of the change list (list_per_page, 100: every row the page shows
is drawn, and a query per row would add 90 here) and a second page behind it (the
paginator, the count). Beyond that a list costs the same queries at any size: only one page
is drawn. The CSV export writes every row, 150 as 1,000 (core/admin_csv.py reads them
CHUNK = 2000 at a time: one chunk either way).
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.admin import bulk
from tests.admin.conftest import signed_in
from tests.factories import FinanceFactory, OperatorFactory

pytestmark = pytest.mark.django_db

MANY = 150  # > list_per_page (100): a full page and a second one

HEAVY = [
    ("/admin/rides/ride/", OperatorFactory, bulk.rides),
    ("/admin/rides/unicorn/", OperatorFactory, bulk.unicorns),
    ("/admin/promos/discountaward/", OperatorFactory, bulk.awards),
    ("/admin/events/deadletter/", OperatorFactory, bulk.dead_letters),
    ("/admin/payments/payment/", FinanceFactory, bulk.payments),
    ("/admin/payment_lists/paymentlist/", FinanceFactory, bulk.payment_lists),
]


def _act_for_every_organization(user) -> None:
    """Finance sees only its organizations' rows: make the user a member of them all."""
    from organizations.models import Organization

    user.organizations.add(*Organization.objects.all())


def queries_for(client, url, **params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    ("url", "factory", "make"), HEAVY, ids=[url.split("/")[3] for url, *_ in HEAVY]
)
def test_changelist_queries_do_not_grow_from_10_rows_to_a_full_page_and_more(
    url, factory, make, django_assert_max_num_queries
):
    user = factory()
    client = signed_in(user)
    make(10)
    _act_for_every_organization(user)
    client.get(url)  # warm up the session and the content types cache
    at_10 = queries_for(client, url)

    make(MANY - 10)
    _act_for_every_organization(user)
    with django_assert_max_num_queries(at_10):
        response = client.get(url)
    assert response.context["cl"].result_count == MANY
    assert len(response.context["cl"].result_list) == response.context["cl"].list_per_page


def test_csv_export_of_150_rides_costs_the_same_queries_as_10():
    client = signed_in(OperatorFactory())

    def export() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.post(
                "/admin/rides/ride/", {"action": "export_as_csv", "select_across": "1",
                                       "index": "0", "_selected_action": ["x"]},
            )  # fmt: skip
            rows = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
        return len(queries), len(rows)

    bulk.rides(10)
    export()
    small = export()
    bulk.rides(MANY - 10)
    large = export()
    assert (small[1], large[1]) == (11, MANY + 1)
    assert large[0] <= small[0]
