"""A subscription's limits are per currency: a list's totals are checked currency by
currency, never added together (payments.services.check_subscription_limits, which
VerifySubscription asks)."""

import pytest

from payments import services
from tests.factories import FinanceFactory, OrganizationFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def plan(organization, *, rows=1000, any_currency=None, **limits):
    subscription = SubscriptionFactory(
        organization=organization, plan="business", max_rows_per_list=rows,
        max_total_minor_per_list=any_currency,
    )  # fmt: skip
    for currency, minor in limits.items():
        subscription.limits.create(currency=currency, max_total_minor_per_list=minor)
    return subscription


def test_each_currency_is_held_to_its_own_limit():
    organization = OrganizationFactory()
    subscription = plan(organization, USD=100_000, EUR=50_000)

    covered = services.check_subscription_limits(
        organization=organization, rows_count=3, totals_by_currency={"USD": 90_000, "EUR": 50_000}
    )

    assert covered == subscription


def test_totals_in_several_currencies_are_never_added_up():
    # 90,000 + 90,000 would be over 100,000 if currencies were summed.
    organization = OrganizationFactory()
    plan(organization, USD=100_000, GBP=100_000)

    services.check_subscription_limits(
        organization=organization, rows_count=2, totals_by_currency={"USD": 90_000, "GBP": 90_000}
    )


def test_a_currency_over_its_limit_is_named_with_both_amounts():
    organization = OrganizationFactory()
    plan(organization, USD=100_000, EUR=50_000)

    with pytest.raises(services.SubscriptionLimitExceeded) as refused:
        services.check_subscription_limits(
            organization=organization, rows_count=2,
            totals_by_currency={"USD": 1_000, "EUR": 60_000},
        )  # fmt: skip

    assert str(refused.value) == (
        "The list has 2 rows totalling €600.00, $10.00; the business subscription does not "
        "cover it: €600.00 where it allows €500.00."
    )


def test_a_currency_the_plan_has_no_limit_for_is_not_covered():
    organization = OrganizationFactory()
    plan(organization, USD=100_000)

    with pytest.raises(services.SubscriptionLimitExceeded, match="no amounts in GBP"):
        services.check_subscription_limits(
            organization=organization, rows_count=1, totals_by_currency={"GBP": 1}
        )


def test_the_limit_for_any_other_currency_applies_to_each_apart():
    organization = OrganizationFactory()
    plan(organization, any_currency=100_000, USD=10_000)

    services.check_subscription_limits(
        organization=organization, rows_count=2, totals_by_currency={"EUR": 100_000, "GBP": 100_000}
    )
    with pytest.raises(services.SubscriptionLimitExceeded, match=r"\$200.00 where it allows"):
        services.check_subscription_limits(
            organization=organization, rows_count=1, totals_by_currency={"USD": 20_000}
        )


def test_too_many_rows_or_no_active_subscription_is_refused():
    organization = OrganizationFactory()
    with pytest.raises(services.SubscriptionLimitExceeded, match="has no active subscription"):
        services.check_subscription_limits(
            organization=organization, rows_count=1, totals_by_currency={"USD": 1}
        )
    plan(organization, rows=10, USD=10**9)
    with pytest.raises(services.SubscriptionLimitExceeded, match="11 rows where it allows 10"):
        services.check_subscription_limits(
            organization=organization, rows_count=11, totals_by_currency={"USD": 1}
        )


def test_finance_sets_a_limit_per_currency_in_the_admin(client):
    finance = FinanceFactory()
    organization = OrganizationFactory()
    organization.members.add(finance)
    subscription = plan(organization, USD=100)
    client.force_login(finance)
    url = f"/admin/payments/subscription/{subscription.pk}/change/"

    page = client.get(url)

    assert page.status_code == 200
    assert b"Limits per currency" in page.content
    assert b"limits-0-currency" in page.content  # a row to fill in


def finance_signed_in(client):
    """Finance staff of a new organization, signed in to the admin: that organization."""
    finance = FinanceFactory()
    organization = OrganizationFactory()
    organization.members.add(finance)
    client.force_login(finance)
    return organization


def new_subscription_form(organization, plan: str, limits) -> dict:
    """The admin's new-subscription form, with a limit row per (currency, amount)."""
    form = {
        "organization": organization.pk, "plan": plan, "starts_at_0": "2026-01-01",
        "starts_at_1": "00:00:00", "max_rows_per_list": "10",
        "limits-TOTAL_FORMS": str(len(limits)), "limits-INITIAL_FORMS": "0",
    }  # fmt: skip
    for row, (currency, amount) in enumerate(limits):
        form[f"limits-{row}-currency"] = currency
        form[f"limits-{row}-max_total_minor_per_list"] = amount
    return form


def test_one_currency_written_twice_in_the_admin_is_a_form_error(client):
    """'usd' and 'USD' in two limit rows are one currency: the form says so (it was a 500,
    the database's unique constraint meeting the second row) and nothing is saved."""
    organization = finance_signed_in(client)
    form = new_subscription_form(organization, "twice", [("usd", "100"), ("USD", "5")])

    page = client.post("/admin/payments/subscription/add/", form)

    assert page.status_code == 200
    assert "Please correct the duplicate data for currency" in page.content.decode()
    assert not organization.subscriptions.exists()


def test_finance_types_a_limit_as_money_and_sees_it_as_money(client):
    """A list's limit was typed and shown in cents ('250000' for $2,500.00)."""
    organization = finance_signed_in(client)
    form = new_subscription_form(organization, "money", [("USD", "2500.00")])
    form["max_total_minor_per_list"] = "100.50"

    assert client.post("/admin/payments/subscription/add/", form).status_code == 302

    subscription = organization.subscriptions.get()
    assert subscription.limits.get().max_total_minor_per_list == 250_000
    assert subscription.max_total_minor_per_list == 10_050  # any other currency
    page = client.get(f"/admin/payments/subscription/{subscription.pk}/change/").content.decode()
    assert 'name="limits-0-max_total_minor_per_list" value="2500.00"' in page
    assert 'name="max_total_minor_per_list" value="100.50"' in page
