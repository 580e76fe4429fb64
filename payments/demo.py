"""Demo organization with an active subscription; the finance demo user acts for it."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from organizations.models import Organization

DEMO_ORGANIZATION = "Enchanted Forest Tours"


def seed_demo_organization(finance_user) -> bool:
    organization, created = Organization.objects.get_or_create(name=DEMO_ORGANIZATION)
    organization.members.add(finance_user)
    if created:
        subscription = organization.subscriptions.create(
            plan="business",
            starts_at=timezone.now() - timedelta(days=1),
            ends_at=None,
            max_rows_per_list=1_000_000,
        )
        for currency in settings.PAYMENT_CURRENCIES:  # 100,000,000.00 a list in each
            subscription.limits.create(currency=currency, max_total_minor_per_list=10**10)
    return created
