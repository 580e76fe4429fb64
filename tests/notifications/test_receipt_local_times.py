"""The receipt e-mail's times on the days Seattle's clocks change and across midnight: each
time with its zone's name, so that the two 01:30s of 1 November read apart, and a ride
requested before midnight and completed after it shows both dates."""

from datetime import datetime

import pytest
from django.core import mail

from tests.bi.days import ride_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def receipt_lines(clock, requested, completed, capture) -> list[str]:
    with capture(execute=True):
        ride = ride_for(UserFactory(), clock, requested=requested, completed=completed)
    [receipt] = [m for m in mail.outbox if ride.reference in m.subject]
    return receipt.body.splitlines()


def test_the_two_0130s_of_the_day_the_clocks_go_back_read_apart(
    clock, django_capture_on_commit_callbacks
):
    lines = receipt_lines(
        clock,
        datetime(2026, 11, 1, 1, 20),  # PDT
        datetime(2026, 11, 1, 1, 30, fold=1),  # PST: 70 minutes later
        django_capture_on_commit_callbacks,
    )

    assert "Requested: 1 November 2026, 01:20 PDT" in lines
    assert "Completed: 1 November 2026, 01:30 PST" in lines


def test_a_ride_across_midnight_into_the_short_day_shows_both_dates(
    clock, django_capture_on_commit_callbacks
):
    lines = receipt_lines(
        clock,
        datetime(2026, 3, 7, 23, 50),
        datetime(2026, 3, 8, 3, 5),  # 02:00 PST became 03:00 PDT
        django_capture_on_commit_callbacks,
    )

    assert "Requested: 7 March 2026, 23:50 PST" in lines
    assert "Completed: 8 March 2026, 03:05 PDT" in lines
