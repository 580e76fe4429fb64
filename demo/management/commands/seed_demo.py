from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.demo import DEMO_PASSWORD, seed_demo_accounts
from payments.demo import seed_demo_organization
from promos.demo import seed_demo_campaign
from rides.demo import seed_demo_fleet, seed_demo_rides


class Command(BaseCommand):
    help = "Seed the local demo data (fleet, accounts, rides). Safe to run again."

    def handle(self, *args, **options):
        if not settings.DEMO_DATA_ALLOWED:
            raise CommandError("Demo data is only for local runs (DEMO_DATA_ALLOWED is off).")
        with transaction.atomic():
            users = seed_demo_accounts()
            unicorns = seed_demo_fleet()
            campaign = seed_demo_campaign()
            finance = next(user for user in users if user.email == "finance@example.com")
            organization = seed_demo_organization(finance)
        # Booked after the fleet is committed, each ride in its own transactions, as in use.
        rider = next(user for user in users if user.email == "rider@example.com")
        rides = seed_demo_rides(rider)
        self.stdout.write(f"Demo fleet: {unicorns} unicorn(s) added.")
        self.stdout.write(f"Demo campaign: {'added' if campaign else 'already there'}.")
        self.stdout.write(f"Demo organization: {'added' if organization else 'already there'}.")
        self.stdout.write(f"Demo rides: {rides} finished ride(s) added for {rider.email}.")
        for user in users:
            self.stdout.write(f"Demo account: {user.email} / {DEMO_PASSWORD}")
