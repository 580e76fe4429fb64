"""Migration 0003 keeps the BI rows that exist, and after it a day may have more rows."""

from datetime import date

import pytest

from tests.migrations import migrate_to, migrated_back_to

BEFORE = [("bi", "0002_aggregates_per_currency")]
AFTER = [("bi", "0003_aggregates_without_hot_row")]
DAY = date(2026, 11, 30)


@pytest.mark.django_db(transaction=True)
def test_existing_aggregates_are_kept_and_a_day_may_then_have_several_rows():
    with migrated_back_to(BEFORE) as old:
        old.get_model("bi", "DailyAggregate").objects.create(
            day=DAY, currency="USD", rides_completed=3, revenue_minor=4_500
        )
        old.get_model("bi", "CampaignDailySpend").objects.create(
            day=DAY, campaign="Launch", currency="USD", rides=2, discounts_minor=900
        )
        new = migrate_to(AFTER)
        Daily, Spend = (
            new.get_model("bi", "DailyAggregate"),
            new.get_model("bi", "CampaignDailySpend"),
        )
        kept = Daily.objects.get(day=DAY)
        assert (kept.currency, kept.rides_completed, kept.revenue_minor) == ("USD", 3, 4_500)
        assert Spend.objects.get(day=DAY).discounts_minor == 900
        Daily.objects.create(day=DAY, currency="USD", rides_completed=1)  # a second row
        assert Daily.objects.filter(day=DAY, currency="USD").count() == 2
