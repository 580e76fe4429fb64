"""Migration bi 0004 rebuilds BI's rows on the service area's days from the rides and the
payments: rows written while BI summed by UTC day (TIME_ZONE was UTC) put a Seattle
evening's rides and payments on the next day, so a day's figures did not match its
payments. After it, each day matches to the cent per currency; an event BI has not
processed yet is still counted once, when it comes; running it again changes nothing."""

from datetime import date, datetime, timedelta

import pytest
from django.test import override_settings

from bi import selectors, subscribers
from bi.models import CampaignDailySpend, DailyAggregate
from events import relay
from events.models import OutboxEvent, ProcessedEvent
from payments import services as payments
from payments.models import Payment
from promos.models import Campaign
from rides.models import Ride
from tests.bi.days import SEATTLE, bi_per_day, counts_per_day, payments_per_day, ride_for
from tests.factories import CampaignFactory, UserFactory
from tests.migrations import migrate_to, migrated_back_to, run_data_function

MIGRATION = "bi.migrations.0004_rebuild_on_local_days"
YEAR = (date(2026, 1, 1), date(2026, 12, 31))

# Seattle's wall clock; UTC's day differs from 16:00 (PDT) or 17:00 (PST) on.
EVENING = datetime(2026, 11, 30, 17, 30)  # 01:30 UTC on 1 December
MOMENTS = [
    datetime(2026, 3, 7, 23, 59, 59, 999000),
    datetime(2026, 3, 8, 16, 59, 59, 999000),  # 23:59:59.999 UTC, the same day
    datetime(2026, 3, 8, 17, 0),  # 00:00 UTC on the 9th
    datetime(2026, 11, 1, 1, 30),  # PDT
    datetime(2026, 11, 1, 1, 30, fold=1),  # PST, an hour later
    datetime(2026, 11, 1, 16, 30),  # PST: 00:30 UTC on the 2nd
    EVENING,
]


def rebuild():
    run_data_function(MIGRATION, "rebuild_on_local_days")


def as_written_by_utc_days():
    """BI's rows as the subscriber wrote them when TIME_ZONE was UTC: every event it had
    processed, folded on its UTC day."""
    DailyAggregate.objects.all().delete()
    CampaignDailySpend.objects.all().delete()
    done = ProcessedEvent.objects.filter(subscriber="bi").values("event_id")
    with override_settings(TIME_ZONE="UTC"):
        subscribers.handle_batch(
            [e.envelope() for e in OutboxEvent.objects.filter(pk__in=done).order_by("pk")]
        )


def finance_figures() -> dict:
    """A day's payments per currency (registered, verified) and its rides, as the payments
    and rides tables have them and as BI does."""
    return {
        "registered": (
            bi_per_day(*YEAR, "registered"),
            {k: minor for k, (_, minor) in payments_per_day("registered_at").items()},
        ),
        "verified": (
            bi_per_day(*YEAR, "verified"),
            {k: minor for k, (_, minor) in payments_per_day("verified_at").items()},
        ),
        "rides": (counts_per_day(*YEAR, "rides_completed"), rides_per_day()),
    }


def rides_per_day() -> dict:
    found: dict = {}
    for ride in Ride.objects.filter(status=Ride.Status.COMPLETED):
        day = ride.completed_at.astimezone(SEATTLE).date()
        found[day] = found.get(day, 0) + 1
    return found


@pytest.fixture
def business(clock, finance, django_capture_on_commit_callbacks):
    """Payments in USD and EUR and rides (some discounted by a campaign) at the moments
    above, each verified three hours later; BI processed them all, on UTC days."""
    campaign = CampaignFactory(name="Evenings", tiers=[("0.85", 1)], daily_cap_per_rider=99)
    Campaign.objects.filter(pk=campaign.pk).update(starts_at=datetime(2026, 1, 1, tzinfo=SEATTLE))
    with django_capture_on_commit_callbacks(execute=True):
        for n, moment in enumerate(MOMENTS):
            clock.set(moment)
            payment = payments.register_payment(
                amount_minor=1000 + n, currency=("USD", "EUR")[n % 2], reference=f"P{n}",
                actor=finance,
            )  # fmt: skip
            clock.set(moment + timedelta(hours=3))
            payments.verify_payment(payment=payment, actor=finance)
            ride_for(
                UserFactory(), clock, requested=moment - timedelta(minutes=20), completed=moment
            )
    as_written_by_utc_days()
    return campaign


def test_the_evenings_figures_move_back_to_their_seattle_day(business, clock):
    before = finance_figures()
    assert before["registered"][0] != before["registered"][1]  # the leftover, as finance saw it
    assert before["rides"][0] != before["rides"][1]
    evening_usd = (date(2026, 11, 30), "USD")
    assert evening_usd not in before["registered"][0]  # counted on 1 December instead

    rebuild()

    after = finance_figures()
    for name, (bi, table) in after.items():
        assert bi == table, name
    evening_ride = Ride.objects.get(completed_at=EVENING.replace(tzinfo=SEATTLE))
    assert after["registered"][0][evening_usd] == 1006 + evening_ride.fare_minor
    assert counts_per_day(date(2026, 11, 1), date(2026, 11, 1), "rides_completed") == {
        date(2026, 11, 1): 3  # 01:30 PDT, 01:30 PST and 16:30 PST: one day, each once
    }
    fares = sum(Ride.objects.values_list("fare_minor", flat=True))
    total = selectors.totals(selectors.daily_figures(*YEAR))
    assert total["rides_completed"] == len(MOMENTS)
    assert total["money"]["USD"]["revenue_minor"] == fares
    assert total["money"]["EUR"]["payments_registered_minor"] == sum(
        Payment.objects.filter(currency="EUR").values_list("amount_minor", flat=True)
    )


def test_campaign_spend_is_rebuilt_on_seattle_days(business):
    rebuild()

    spend = {
        (row.day, row.campaign, row.currency): (row.rides, row.discounts_minor)
        for row in CampaignDailySpend.objects.all()
    }
    expected: dict = {}
    for ride in Ride.objects.exclude(discount_campaign=""):
        key = (ride.completed_at.astimezone(SEATTLE).date(), "Evenings", "USD")
        rides, minor = expected.get(key, (0, 0))
        expected[key] = (rides + 1, minor + ride.base_fare_minor - ride.fare_minor)
    assert expected and spend == expected


def test_events_on_their_way_are_counted_once_when_they_come(
    business, clock, finance, django_capture_on_commit_callbacks
):
    """A payment registered (and a ride completed) whose events BI has not processed when the
    migration runs: left out by it, added by BI when they come; then every day matches."""
    with django_capture_on_commit_callbacks(execute=False):  # not handed on yet
        clock.set(datetime(2026, 12, 1, 23, 59, 59, 999000))
        payments.register_payment(
            amount_minor=777, currency="USD", reference="ON-ITS-WAY", actor=finance
        )
        ride = ride_for(
            UserFactory(), clock,
            requested=datetime(2026, 12, 1, 23, 30), completed=datetime(2026, 12, 1, 23, 45),
        )  # fmt: skip
    rebuild()

    day = (date(2026, 12, 1), "USD")
    in_the_table = payments_per_day("registered_at")[day][1]
    assert bi_per_day(*YEAR, "registered").get(day, 0) == in_the_table - 777 - ride.fare_minor
    assert date(2026, 12, 1) not in counts_per_day(*YEAR, "rides_completed")

    assert relay.relay_events()["published"] > 0  # BI's events among them

    for name, (bi, table) in finance_figures().items():
        assert bi == table, name
    assert bi_per_day(*YEAR, "registered")[day] == in_the_table


def test_running_it_again_changes_nothing(business):
    rebuild()
    first = selectors.daily_figures(*YEAR), list(
        CampaignDailySpend.objects.values_list("day", "campaign", "currency", "rides",
                                               "discounts_minor").order_by("day")
    )  # fmt: skip
    rebuild()
    again = selectors.daily_figures(*YEAR), list(
        CampaignDailySpend.objects.values_list("day", "campaign", "currency", "rides",
                                               "discounts_minor").order_by("day")
    )  # fmt: skip
    assert first == again
    assert DailyAggregate.objects.count() == len(
        {(r.day, r.currency) for r in DailyAggregate.objects.all()}
    )


@pytest.mark.django_db(transaction=True)
def test_migrate_rebuilds_the_rows(settings):
    """Through `migrate`, as a deploy runs it (on PostgreSQL, behind PgBouncer: it holds the
    outbox and the BI tables while it rebuilds)."""
    settings.TIME_ZONE = "America/Los_Angeles"
    payment = Payment.objects.create(
        reference="EVENING", amount_minor=4321, currency="EUR", registered_by="finance"
    )
    Payment.objects.filter(pk=payment.pk).update(
        registered_at=EVENING.replace(tzinfo=SEATTLE)  # 01:30 UTC on 1 December
    )
    with migrated_back_to([("bi", "0003_aggregates_without_hot_row")]) as old:
        old.get_model("bi", "DailyAggregate").objects.create(
            day=date(2026, 12, 1), currency="EUR", payments_registered=1,
            payments_registered_minor=4321,
        )  # fmt: skip
        new = migrate_to([("bi", "0004_rebuild_on_local_days")])
        rows = new.get_model("bi", "DailyAggregate").objects.values_list(
            "day", "currency", "payments_registered", "payments_registered_minor"
        )
        assert list(rows) == [(date(2026, 11, 30), "EUR", 1, 4321)]
