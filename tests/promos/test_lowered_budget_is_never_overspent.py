"""A campaign whose budget an operator lowers after money was spent gives away no more than
the new budget, however the spending so far is spread (promos budget slices)."""

import threading
import uuid

import pytest
from django.db import connection, transaction

from promos.models import BudgetSlice
from promos.selectors import budget_spent_minor
from promos.services import release_ride_awards
from tests.factories import CampaignFactory
from tests.promos.races import draw

pytestmark = pytest.mark.django_db


def lower_budget(campaign, budget_minor):
    campaign.budget_minor = budget_minor
    campaign.save(update_fields=["budget_minor"])


def test_a_budget_lowered_below_what_was_spent_gives_nothing_more():
    campaign = CampaignFactory(budget_minor=16_000, tiers=[("0.50", 1)])
    assert draw(fare_minor=2_000).discount_minor == 1_000

    lower_budget(campaign, 800)

    assert [draw(fare_minor=20).discount_minor for _ in range(20)] == [0] * 20
    assert budget_spent_minor(campaign.pk) == 1_000


def test_a_lowered_budget_is_spent_up_to_the_new_amount_and_no_further():
    campaign = CampaignFactory(budget_minor=16_000, tiers=[("0.50", 1)])
    assert draw(fare_minor=1_000).discount_minor == 500  # all from one share of the budget

    lower_budget(campaign, 1_600)

    given = [draw(fare_minor=20).discount_minor for _ in range(120)]
    assert sum(given) == 1_100  # up to the new budget: 1,600 - 500
    assert budget_spent_minor(campaign.pk) == 1_600


def test_money_given_back_after_the_budget_was_lowered_is_spendable_only_within_it():
    campaign = CampaignFactory(budget_minor=16_000, tiers=[("0.50", 1)])
    ride = uuid.uuid4()
    assert draw(fare_minor=2_000, ride_id=ride).discount_minor == 1_000
    assert draw(fare_minor=2_000).discount_minor == 1_000

    lower_budget(campaign, 1_500)
    assert release_ride_awards(ride_id=ride) == 1

    given = [draw(fare_minor=20).discount_minor for _ in range(80)]
    assert sum(given) == 500
    assert budget_spent_minor(campaign.pk) == 1_500


@pytest.mark.django_db(transaction=True)
def test_money_given_back_while_another_ride_holds_the_overspent_share_stays_within_it():
    """The share the lowered budget no longer covers is held by another transaction when the
    money comes back: the give-back waits for it rather than making room elsewhere."""
    campaign = CampaignFactory(budget_minor=16_000, tiers=[("0.50", 1)])
    ride = uuid.uuid4()
    assert draw(fare_minor=2_000).discount_minor == 1_000
    assert draw(fare_minor=80, ride_id=ride).discount_minor == 40
    lower_budget(campaign, 800)  # 1,040 spent: 240 over
    overspent = BudgetSlice.objects.filter(campaign=campaign).order_by("-spent_minor").first()
    held, done = threading.Event(), threading.Event()

    def hold_the_overspent_share():
        try:
            with transaction.atomic():
                BudgetSlice.objects.select_for_update().filter(pk=overspent.pk).get()
                held.set()
                done.wait(timeout=2)  # the give-back that waits for it ends this
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_overspent_share)
    holder.start()
    assert held.wait(timeout=10)
    assert release_ride_awards(ride_id=ride) == 1
    done.set()
    holder.join(timeout=10)

    assert [draw(fare_minor=20).discount_minor for _ in range(8)] == [0] * 8
    assert budget_spent_minor(campaign.pk) == 1_000


@pytest.mark.django_db(transaction=True)
def test_a_draw_waiting_while_the_budget_is_lowered_keeps_to_the_new_budget():
    """A draw that finds every slice held by the operator's change waits for it, and then
    takes the money under the budget as changed, not as it was when it began."""
    campaign = CampaignFactory(budget_minor=16_000, tiers=[("0.50", 1)])
    assert draw(fare_minor=300).discount_minor == 150
    saved, done = threading.Event(), threading.Event()

    def lower_the_budget_slowly():
        try:
            with transaction.atomic():
                lower_budget(campaign, 160)  # 150 spent: 10 left
                saved.set()
                done.wait(timeout=2)  # the draw that waits for this ends it
        finally:
            connection.close()

    operator = threading.Thread(target=lower_the_budget_slowly)
    operator.start()
    assert saved.wait(timeout=10)
    award = draw(fare_minor=200)  # 100 off, if the budget allowed it
    done.set()
    operator.join(timeout=10)

    assert award.discount_minor == 0 and award.outcome == "budget"
    assert budget_spent_minor(campaign.pk) == 150
