"""A time in the admin says its zone: an operator reading "10:39" must know whose 10:39."""

from datetime import UTC, datetime

import pytest

from rides.models import Unicorn
from tests.factories import UnicornFactory

pytestmark = pytest.mark.django_db


def test_a_unicorns_last_update_reads_in_the_service_areas_zone_with_its_name(
    operator_client,
):
    unicorn = UnicornFactory(name="Rocinante")
    moment = datetime(2026, 12, 7, 18, 39, tzinfo=UTC)  # 10:39 in Seattle, winter time
    Unicorn.objects.filter(pk=unicorn.pk).update(updated_at=moment)

    page = operator_client.get("/admin/rides/unicorn/").content.decode()

    assert "7 Dec 2026, 10:39 PST" in page


def test_a_summer_time_says_summer_time(operator_client):
    unicorn = UnicornFactory(name="Rocinante")
    Unicorn.objects.filter(pk=unicorn.pk).update(updated_at=datetime(2026, 7, 1, 17, 5, tzinfo=UTC))

    page = operator_client.get("/admin/rides/unicorn/").content.decode()

    assert "1 Jul 2026, 10:05 PDT" in page
