"""A campaign's budget is money in one currency the project knows, and only fares in that
currency are discounted from it (money in different currencies is never added together)."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from promos.models import Campaign
from promos.selectors import budget_spent_minor
from promos.services import draw_discount
from tests.factories import DEMO_CITY, CampaignFactory, OperatorFactory

pytestmark = pytest.mark.django_db


def campaign_form(currency: str) -> dict:
    """What an operator types into the admin's new-campaign page: a 10.00 budget, 50% off."""
    starts = timezone.localtime() - timezone.timedelta(hours=1)
    return {
        "name": "Winter", "is_active": "on", "priority": "0",
        "starts_at_0": starts.strftime("%Y-%m-%d"), "starts_at_1": starts.strftime("%H:%M:%S"),
        "budget_minor": "10.00", "currency": currency,
        "tiers-TOTAL_FORMS": "1", "tiers-INITIAL_FORMS": "0",
        "tiers-MIN_NUM_FORMS": "1", "tiers-MAX_NUM_FORMS": "1000",
        "tiers-0-multiplier": "0.50", "tiers-0-weight": "1",
    }  # fmt: skip


def add_campaign(currency: str):
    client = Client()
    client.force_login(OperatorFactory())
    return client.post(reverse("admin:promos_campaign_add"), campaign_form(currency))


@pytest.mark.parametrize("typed", ["xy<", "ABC", "€"])
def test_an_operator_cannot_create_a_campaign_in_a_currency_the_project_does_not_know(typed):
    answer = add_campaign(typed)
    assert answer.status_code == 200  # the form again, with the sentence beside the field
    assert answer.context["adminform"].form.errors["currency"] == [
        f"Unknown currency {typed!r}; use one of USD, EUR, GBP."
    ]
    assert not Campaign.objects.exists()


def test_a_campaign_currency_typed_in_lower_case_is_saved_as_its_code():
    answer = add_campaign(" eur")
    assert answer.status_code == 302, answer.context and answer.context["adminform"].form.errors
    assert Campaign.objects.get().currency == "EUR"


def test_a_usd_fare_is_not_discounted_from_a_campaign_in_another_currency():
    euros = CampaignFactory(name="Euro days", priority=5, budget_minor=1000, currency="EUR",
                            tiers=[("0.50", 1)])  # fmt: skip
    dollars = CampaignFactory(name="Dollar days", budget_minor=1000, tiers=[("0.75", 1)])
    award = draw_discount(
        username="rider@example.com", latitude=DEMO_CITY[0], longitude=DEMO_CITY[1],
        fare_minor=1200,
    )  # fmt: skip
    assert (award.campaign.name, award.multiplier, award.discount_minor) == (
        "Dollar days", Decimal("0.75"), 300,
    )  # fmt: skip
    assert budget_spent_minor(euros.pk) == 0
    assert budget_spent_minor(dollars.pk) == 300


def test_a_draw_planned_before_the_campaign_changed_currency_takes_nothing_from_it():
    """A ride request plans its draw, then records it in its own transaction: an operator
    who switched the campaign to euros meanwhile keeps its budget for euro fares."""
    from promos.services import plan_discount, record_discount

    campaign = CampaignFactory(budget_minor=1000, tiers=[("0.50", 1)])
    planned = plan_discount(
        username="rider@example.com", latitude=DEMO_CITY[0], longitude=DEMO_CITY[1],
        fare_minor=1250,
    )  # fmt: skip
    assert planned.discount_minor == 625
    campaign.currency = "EUR"
    campaign.save()
    award = record_discount(planned)
    assert (award.multiplier, award.discount_minor) == (Decimal("1.00"), 0)
    assert budget_spent_minor(campaign.pk) == 0


@pytest.mark.django_db(transaction=True)
def test_a_campaign_stored_in_lower_case_before_the_upgrade_keeps_discounting_usd_fares():
    from tests.migrations import migrate_to, migrated_back_to

    with migrated_back_to([("promos", "0004_budget_in_slices")]) as old:
        Old = old.get_model("promos", "Campaign")
        Old.objects.create(name="Typed by hand", starts_at=timezone.now(), currency="usd")
        Old.objects.create(name="Nonsense", starts_at=timezone.now(), currency="xy<")
        new = migrate_to([("promos", "0005_campaign_currency_known_codes")])
        stored = dict(new.get_model("promos", "Campaign").objects.values_list("name", "currency"))
    assert stored == {"Typed by hand": "USD", "Nonsense": "XY<"}


def test_a_campaign_name_with_a_text_direction_character_is_refused():
    """Its name shows in riders' receipts and notifications: U+202E would turn them around."""
    campaign = CampaignFactory.build(name="Launch \u202ekeew")
    with pytest.raises(ValidationError) as refused:
        campaign.full_clean()
    assert "text-direction characters" in str(refused.value.message_dict["name"])


def test_an_operator_types_the_budget_as_money_and_sees_it_as_money():
    """The budget was typed and shown in cents ("Budget minor: 150000" for $1,500.00)."""
    client = Client()
    client.force_login(OperatorFactory())
    form = {**campaign_form("USD"), "budget_minor": "1500.00"}
    assert client.post(reverse("admin:promos_campaign_add"), form).status_code == 302
    campaign = Campaign.objects.get()
    assert campaign.budget_minor == 150_000

    page = client.get(reverse("admin:promos_campaign_change", args=[campaign.pk]))
    assert 'name="budget_minor" value="1500.00"' in page.content.decode()
    assert '<label for="id_budget_minor">Budget:</label>' in page.content.decode()


@pytest.mark.parametrize("typed", ["12.345", "-5.00", "lots"])
def test_a_budget_that_is_not_an_amount_is_refused_with_a_sentence(typed):
    answer = Client()
    answer.force_login(OperatorFactory())
    form = {**campaign_form("USD"), "budget_minor": typed}
    page = answer.post(reverse("admin:promos_campaign_add"), form)
    assert page.status_code == 200
    assert page.context["adminform"].form.errors["budget_minor"]
    assert not Campaign.objects.exists()


def change_currency(campaign, currency: str):
    """An operator's save of the campaign's admin page with only the currency changed."""
    client = Client()
    client.force_login(OperatorFactory())
    url = reverse("admin:promos_campaign_change", args=[campaign.pk])
    form = client.get(url).context["adminform"].form
    tiers = list(campaign.tiers.order_by("pk"))
    data = {
        name: value
        for name, value in form.initial.items()
        if value is not None and not isinstance(value, (list, tuple))
    }
    starts = timezone.localtime(campaign.starts_at)
    data.update({
        "starts_at_0": starts.strftime("%Y-%m-%d"), "starts_at_1": starts.strftime("%H:%M:%S"),
        "is_active": "on", "currency": currency,
        "budget_minor": f"{campaign.budget_minor / 100:.2f}" if campaign.budget_minor else "",
        "tiers-TOTAL_FORMS": str(len(tiers)), "tiers-INITIAL_FORMS": str(len(tiers)),
        "tiers-MIN_NUM_FORMS": "1", "tiers-MAX_NUM_FORMS": "1000",
    })  # fmt: skip
    data.pop("ends_at", None)
    for n, tier in enumerate(tiers):
        data.update({f"tiers-{n}-id": str(tier.pk), f"tiers-{n}-campaign": str(campaign.pk),
                     f"tiers-{n}-multiplier": str(tier.multiplier),
                     f"tiers-{n}-weight": str(tier.weight)})  # fmt: skip
    return client.post(url, data)


def test_a_campaign_that_has_awarded_discounts_keeps_its_currency():
    """Its awards and spent budget are amounts in dollars, shown in the campaign's currency:
    switched to euros, the $6.25 a rider was given would read as €6.25."""
    campaign = CampaignFactory(budget_minor=1000, tiers=[("0.50", 1)])
    draw_discount(
        username="rider@example.com", latitude=DEMO_CITY[0], longitude=DEMO_CITY[1],
        fare_minor=1250,
    )  # fmt: skip

    answer = change_currency(campaign, "EUR")

    assert answer.status_code == 200  # the form again, with the sentence beside the field
    assert answer.context["adminform"].form.errors["currency"] == [
        "This campaign has awarded discounts in USD: they and its spending would read as EUR."
        " End it and start another campaign in EUR."
    ]
    campaign.refresh_from_db()
    assert campaign.currency == "USD" and budget_spent_minor(campaign.pk) == 625


def test_a_campaign_that_has_awarded_nothing_may_change_currency():
    campaign = CampaignFactory(budget_minor=1000, tiers=[("0.50", 1)])

    answer = change_currency(campaign, "EUR")

    assert answer.status_code == 302, answer.context["adminform"].form.errors
    campaign.refresh_from_db()
    assert campaign.currency == "EUR"
