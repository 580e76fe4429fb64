import sys
import threading
from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from events.models import OutboxEvent
from organizations.models import Organization
from payment_lists import runs, selectors, workflow
from payment_lists.models import PaymentList

BAR_WIDTH = 30


def _bar(done: int, total: int) -> str:
    filled = BAR_WIDTH * done // total if total else 0
    return "[" + "#" * filled + "." * (BAR_WIDTH - filled) + "]"


class Command(BaseCommand):
    help = "Import a CSV payment list for an organization through the same workflow as uploads."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--organization", required=True, help="Organization name or id.")

    def handle(self, *args, file: Path, organization: str, **options):
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        org = Organization.objects.filter(name=organization).first()
        # isdecimal, not isdigit: '²' is a digit int() cannot read (a ValueError traceback).
        if org is None and organization.isdecimal():
            org = Organization.objects.filter(pk=int(organization)).first()
        if org is None:
            raise CommandError(f"No organization named {organization!r}.")
        with file.open("rb") as handle:
            payment_list = PaymentList(
                organization=org, original_name=file.name, submitted_by="cli"
            )
            payment_list.file.save(file.name, File(handle), save=False)
            payment_list.save()
        self.stdout.write(f"Payment list #{payment_list.pk}: {file.name} for {org}")
        token = runs.claim_new(payment_list.pk)

        stop = threading.Event()
        watcher = threading.Thread(target=self._watch, args=(payment_list.pk, stop), daemon=True)
        watcher.start()
        try:
            workflow.run_workflow(payment_list.pk, token)
        finally:
            stop.set()
            watcher.join()
        payment_list.refresh_from_db()
        self._draw(payment_list)
        sys.stderr.write("\n")
        if payment_list.status == PaymentList.Status.FAILED:
            raise CommandError(
                f"Not imported ({payment_list.failed_step}): {payment_list.failure_reason}"
            )
        self.stdout.write(self.style.SUCCESS(f"Imported {payment_list.rows_imported} payments."))
        self._say_what_waits_for_the_relay()

    def _say_what_waits_for_the_relay(self) -> None:
        """The import hands on one batch of its events (events.relay.relay_after_commit);
        the rest waits for the relay, which nothing runs beside this command on its own."""
        waiting = OutboxEvent.objects.filter(published_at__isnull=True).count()
        if waiting:
            self.stdout.write(
                f"{waiting} events wait for the relay to tell the payers and BI: it runs beside"
                " `make run` (every 5 seconds) and on AWS (every minute); or run"
                " `manage.py relay_events` now."
            )

    def _watch(self, list_id: int, stop: threading.Event) -> None:
        try:
            while not stop.wait(0.5):
                self._draw(PaymentList.objects.get(pk=list_id))
        finally:
            connection.close()

    def _draw(self, payment_list: PaymentList) -> None:
        progress = selectors.progress_of(payment_list)
        if progress.done is not None and progress.total:
            bar = _bar(progress.done, progress.total)
        else:
            bar = "[" + "?" * BAR_WIDTH + "]"  # how far is not known: no made-up length
        sys.stderr.write(f"\r{bar} {progress.description[:100]:<100}")
        sys.stderr.flush()
