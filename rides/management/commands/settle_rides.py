"""Record what time has made true of rides nobody is looking at: arrivals at the pickup and
no-shows (expired, fee charged). Reading a ride does the same for that ride, so this is a
tidy-up, not a requirement: run it on a schedule (an EventBridge rule on AWS, cron or
`--loop` locally) so operators' lists and the events stay current."""

import time

from django.core.management.base import BaseCommand

from rides.services import settle_due_rides


class Command(BaseCommand):
    help = "Record due arrivals and expiries of rides."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep going.")
        parser.add_argument("--interval", type=float, default=10.0, help="Seconds between runs.")
        parser.add_argument("--limit", type=int, default=500, help="Rides per run at most.")

    def handle(self, *args, loop=False, interval=10.0, limit=500, **options):
        while True:
            changed = settle_due_rides(limit=limit)
            if changed or not loop:
                self.stdout.write(f"Settled {changed} ride(s).")
            if not loop:
                return
            time.sleep(interval)
