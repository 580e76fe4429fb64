import logging
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, close_old_connections

from payment_lists import runs, services
from payment_lists.models import PaymentList

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "The recovery pass (also scheduled on AWS): a list whose run died (no progress within "
        "its lease) is resumed from its last finished step, or compensated if it was already "
        "failing or keeps dying; a list nobody started is started. With ids: re-run those "
        "failed lists (the operator's re-run)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "ids", nargs="*", type=int, help="Failed lists to re-run (an operator's decision)."
        )
        parser.add_argument(
            "--loop", action="store_true", help="Run a pass every --interval seconds."
        )
        parser.add_argument("--interval", type=float, default=60.0)
        parser.add_argument("--dry-run", action="store_true", help="Only say what it would do.")

    def handle(self, *args, ids, loop, interval, dry_run, **options):
        if ids:
            self._rerun(ids, dry_run=dry_run)
            return
        if not loop:
            self._pass(dry_run=dry_run)
            return
        while True:
            try:
                self._pass(dry_run=dry_run)
            except DatabaseError:  # the next pass tries again
                logger.exception("Payment-list recovery pass failed")
            finally:
                close_old_connections()
            time.sleep(interval)

    def _pass(self, *, dry_run: bool) -> None:
        if dry_run:
            dead = list(runs.dead_runs().order_by("pk"))
            waiting = list(runs.unclaimed_lists().order_by("pk"))
            for payment_list in dead:
                self.stdout.write(
                    f"List #{payment_list.pk}: its run stopped during "
                    f"{payment_list.current_step or 'its start'}; would take it over."
                )
            for payment_list in waiting:
                self.stdout.write(f"List #{payment_list.pk}: never started; would start it.")
            if not dead and not waiting:
                self.stdout.write("No payment list to recover.")
            return
        # In this process: a `zappa manage` or a local command finishes what it starts.
        done = runs.recover(here=True)
        for item in done:
            payment_list = item.payment_list
            self.stdout.write(
                f"List #{payment_list.pk} ({payment_list.original_name}): {item.action}, now "
                f"{payment_list.status}"
                + (f": {payment_list.failure_reason}" if payment_list.failure_reason else ".")
            )
        if not done:
            self.stdout.write("No payment list to recover.")

    def _rerun(self, ids: list[int], *, dry_run: bool) -> None:
        lists = list(PaymentList.objects.filter(pk__in=ids).order_by("pk"))
        missing = set(ids) - {pl.pk for pl in lists}
        if missing:
            raise CommandError(f"No payment list with id {', '.join(map(str, sorted(missing)))}.")
        for payment_list in lists:
            label = f"List #{payment_list.pk} ({payment_list.original_name})"
            if payment_list.status != PaymentList.Status.FAILED:
                self.stdout.write(
                    f"{label}: {payment_list.status}, not re-run (only failed lists)."
                )
                continue
            if dry_run:
                self.stdout.write(f"{label}: failed; would re-run it.")
                continue
            services.rerun_payment_list(payment_list, here=True)
            payment_list.refresh_from_db()
            self.stdout.write(
                f"{label}: re-run, now {payment_list.status}"
                + (f": {payment_list.failure_reason}" if payment_list.failure_reason else ".")
            )
