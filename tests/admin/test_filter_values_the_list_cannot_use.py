"""A change list asked for a filter value it cannot use (an old bookmark, an edited
address) shows everything and says why; never Django's "Database error" page, which
blames the database installation."""

import pytest

from rides.models import Ride
from tests.factories import RideFactory

pytestmark = pytest.mark.django_db

RIDES = "/admin/rides/ride/"
SAID = "The address asked this list for a filter value it does not know"


def test_a_value_the_list_does_not_know_shows_everything_and_says_so(operator_client):
    RideFactory(status=Ride.Status.COMPLETED)
    RideFactory(status=Ride.Status.CANCELLED)
    page = operator_client.get(f"{RIDES}?requested_at__gte=yesterday", follow=True)
    assert page.status_code == 200
    assert SAID in page.content.decode()
    assert page.context["cl"].result_count == 2


def test_the_error_flag_with_a_bad_value_again_is_not_a_database_error(operator_client):
    page = operator_client.get(f"{RIDES}?e=1&requested_at__gte=yesterday", follow=True)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Database error" not in html and "database installation" not in html
    assert SAID in html


def test_the_error_flag_with_a_good_filter_is_that_filtered_list(operator_client):
    RideFactory(status=Ride.Status.COMPLETED)
    RideFactory(status=Ride.Status.CANCELLED)
    page = operator_client.get(f"{RIDES}?e=1&status__exact=cancelled", follow=True)
    assert [ride.status for ride in page.context["cl"].result_list] == ["cancelled"]
    assert SAID not in page.content.decode()
