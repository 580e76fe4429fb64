from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.demo import DEMO_PASSWORD, seed_demo_accounts
from payments.demo import seed_demo_organization
from promos.demo import seed_demo_campaign
from rides.demo import seed_demo_fleet


class Command(BaseCommand):
    help = "Seed the local demo data (fleet, accounts). Safe to run again: adds what is missing."

    def handle(self, *args, **options):
        if not settings.DEMO_DATA_ALLOWED:
            raise CommandError("Demo data is only for local runs (DEMO_DATA_ALLOWED is off).")
        with transaction.atomic():
            users = seed_demo_accounts()
            unicorns = seed_demo_fleet()
            campaign = seed_demo_campaign()
            finance = next(user for user in users if user.email == "finance@example.com")
            organization = seed_demo_organization(finance)
        self.stdout.write(f"Demo fleet: {unicorns} unicorn(s) added.")
        self.stdout.write(f"Demo campaign: {'added' if campaign else 'already there'}.")
        self.stdout.write(f"Demo organization: {'added' if organization else 'already there'}.")
        for user in users:
            self.stdout.write(f"Demo account: {user.email} / {DEMO_PASSWORD}")
