"""The dashboard's "Rides in progress": every active ride (the unicorn on its way, waiting
at the pickup, or carrying its rider), counted, drawn on the map, and listed by its link."""

import json
import re

import pytest
from django.utils import timezone

from rides.models import Ride
from tests.factories import RideFactory, ride_in_progress

pytestmark = pytest.mark.django_db

URL = "/admin/bi/dailyaggregate/dashboard/"


@pytest.fixture
def rides():
    """One ride in each active state, and one in each finished one."""
    now = timezone.now()
    active = [
        RideFactory(),  # the unicorn is on its way
        RideFactory(
            status=Ride.Status.ARRIVED,
            arrives_at=now - timezone.timedelta(seconds=30),
            arrived_at=now - timezone.timedelta(seconds=30),
        ),
        ride_in_progress(),
    ]
    for status in [Ride.Status.COMPLETED, Ride.Status.CANCELLED, Ride.Status.EXPIRED]:
        RideFactory(status=status, unicorn__is_available=True)
    return active


def test_rides_in_progress_counts_rides_waiting_at_the_pickup_and_on_board(operator_client, rides):
    page = operator_client.get(URL)

    cards = {card.key: card.value for card in page.context["cards"]}
    assert cards["rides_in_progress"] == 3
    assert operator_client.get(URL + "live/").json()["rides_in_progress"] == 3
    found = re.search(r'id="fleet-map-data"[^>]*>(.*?)</script>', page.content.decode(), re.S)
    on_the_map = {ride["id"] for ride in json.loads(found.group(1))["rides"]}
    assert on_the_map == {str(ride.pk) for ride in rides}


def test_the_rides_in_progress_card_opens_the_list_of_those_rides(operator_client, rides):
    cards = {card.key: card for card in operator_client.get(URL).context["cards"]}

    listed = operator_client.get(cards["rides_in_progress"].url)

    assert listed.status_code == 200
    assert {ride.pk for ride in listed.context["cl"].result_list} == {ride.pk for ride in rides}
    assert "Active (on the way, at the pickup, on board)" in listed.content.decode()
