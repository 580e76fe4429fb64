"""Every admin link the project builds with a filter in its query string still opens its
list, filtered, for the role that sees it: the change lists refuse filters their page does
not offer (core.admin.ProjectAdmin), so a link must ask only for what its list offers."""

import html
import re

import pytest
from django.utils import timezone

from payment_lists.models import PaymentList
from promos.models import DiscountAward
from rides.models import Ride
from tests.admin.conftest import signed_in
from tests.factories import (
    CampaignFactory,
    OperatorFactory,
    OrganizationFactory,
    RideFactory,
    UnicornFactory,
)

pytestmark = pytest.mark.django_db

DASHBOARD = "/admin/bi/dailyaggregate/dashboard/"


def links_with_a_query(page, path: str) -> list[str]:
    hrefs = {html.unescape(href) for href in re.findall(r'href="([^"]+)"', page.content.decode())}
    return sorted(href for href in hrefs if href.startswith(path + "?"))


def shown(client, url) -> set:
    answer = client.get(url)
    assert answer.status_code == 200, (url, answer.status_code)
    return {row.pk for row in answer.context["cl"].result_list}


@pytest.fixture
def operator_client():
    return signed_in(OperatorFactory())


def test_the_dashboards_rides_in_progress_and_unicorns_free(operator_client):
    riding = RideFactory(status=Ride.Status.IN_PROGRESS)
    done = RideFactory(status=Ride.Status.COMPLETED, unicorn=UnicornFactory(on_duty=False))
    free = UnicornFactory(on_duty=True, is_available=True)
    page = operator_client.get(DASHBOARD)

    [rides] = links_with_a_query(page, "/admin/rides/ride/")
    assert rides == "/admin/rides/ride/?active=yes"
    assert riding.pk in shown(operator_client, rides)
    assert done.pk not in shown(operator_client, rides)

    [unicorns] = links_with_a_query(page, "/admin/rides/unicorn/")
    assert shown(operator_client, unicorns) == {free.pk}


def test_the_dashboards_lists_importing(superuser_client):
    organization = OrganizationFactory()
    checking, failed = (
        PaymentList.objects.create(organization=organization, status=status, file=f"{status}.csv")
        for status in ("validating", "failed")
    )
    page = superuser_client.get(DASHBOARD)
    [lists] = links_with_a_query(page, "/admin/payment_lists/paymentlist/")
    assert shown(superuser_client, lists) == {checking.pk}
    assert failed.pk not in shown(superuser_client, lists)


def test_the_indexs_rides_needing_attention(operator_client):
    expired = RideFactory(status=Ride.Status.EXPIRED, expired_at=timezone.now())
    RideFactory(status=Ride.Status.COMPLETED, unicorn=UnicornFactory())
    page = operator_client.get("/admin/")
    [attention] = links_with_a_query(page, "/admin/rides/ride/")
    assert attention == "/admin/rides/ride/?attention=any"
    assert shown(operator_client, attention) == {expired.pk}


def test_a_campaigns_awards(operator_client):
    campaign, other = CampaignFactory(), CampaignFactory()
    awards = {
        DiscountAward.objects.create(
            username="rider@example.com", latitude=0, longitude=0, campaign=drawn_for,
            multiplier="0.90", outcome="drawn",
        ).pk: drawn_for
        for drawn_for in (campaign, campaign, other)
    }  # fmt: skip
    page = operator_client.get("/admin/promos/campaign/")
    links = links_with_a_query(page, "/admin/promos/discountaward/")
    assert f"/admin/promos/discountaward/?campaign__id__exact={campaign.pk}" in links
    for link in links:
        pk = int(link.rsplit("=", 1)[1])
        assert shown(operator_client, link) == {a for a, c in awards.items() if c.pk == pk}
