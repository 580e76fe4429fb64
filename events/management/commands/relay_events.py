import time

from django.core.management.base import BaseCommand

from core.idempotency import purge_expired_records
from events.relay import relay_events


class Command(BaseCommand):
    help = (
        "Publish unpublished outbox events and retry due deliveries (once, or --loop: "
        "again at once after a pass that found work, else after --interval); each pass "
        "also purges Idempotency-Key answers older than IDEMPOTENCY_RETENTION_HOURS."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep relaying every --interval.")
        parser.add_argument("--interval", type=float, default=2.0)

    def handle(self, *args, loop=False, interval=2.0, **options):
        while True:
            result = relay_events()
            if result["published"] or result["retried"] or not loop:
                self.stdout.write(
                    f"published {result['published']}, retried {result['retried']}, "
                    f"delivered {result['delivered']}"
                )
            purged = purge_expired_records()
            if purged:
                self.stdout.write(f"purged {purged} Idempotency-Key answer(s) past retention")
            if not loop:
                return
            if not (result["published"] or result["retried"]):
                time.sleep(interval)  # idle; after a busy pass, look again at once
