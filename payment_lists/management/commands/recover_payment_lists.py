from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from payment_lists import services
from payment_lists.models import PaymentList


class Command(BaseCommand):
    help = (
        "Compensate payment lists whose import died without finishing (no progress for "
        "--quiet-minutes, or the ids given), so nothing half imported stays; --rerun imports "
        "them again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "ids", nargs="*", type=int,
            help="These lists (you know their run is dead), instead of searching.",
        )  # fmt: skip
        parser.add_argument(
            "--quiet-minutes", type=float,
            default=services.QUIET_BEFORE_INTERRUPTED.total_seconds() / 60,
            help="An unfinished list with no progress for this long counts as interrupted.",
        )  # fmt: skip
        parser.add_argument(
            "--rerun", action="store_true",
            help="Then re-run them: a new Step Functions execution on AWS, else in this process.",
        )  # fmt: skip
        parser.add_argument("--dry-run", action="store_true", help="Only say what it would do.")

    def handle(self, *args, ids, quiet_minutes, rerun, dry_run, **options):
        if ids:
            lists = list(PaymentList.objects.filter(pk__in=ids).order_by("pk"))
            missing = set(ids) - {pl.pk for pl in lists}
            if missing:
                raise CommandError(f"No payment list with id {', '.join(map(str, missing))}.")
        else:
            lists = services.interrupted_lists(quiet_for=timedelta(minutes=quiet_minutes))
        if not lists:
            self.stdout.write("No interrupted payment list.")
        for payment_list in lists:
            self._recover(payment_list, rerun=rerun, dry_run=dry_run)

    def _recover(self, payment_list, *, rerun, dry_run):
        label = f"List #{payment_list.pk} ({payment_list.original_name})"
        interrupted = payment_list.status in services.UNFINISHED
        if dry_run:
            doing = "compensate" if interrupted else "leave"
            then = (
                " and re-run" if rerun and (interrupted or payment_list.status == "failed") else ""
            )
            self.stdout.write(f"{label}: {payment_list.status}; would {doing} it{then}.")
            return
        if interrupted:
            payment_list = services.compensate_interrupted_list(payment_list)
            self.stdout.write(f"{label}: compensated, now failed: {payment_list.failure_reason}")
        if rerun:
            if payment_list.status != PaymentList.Status.FAILED:
                self.stdout.write(f"{label}: {payment_list.status}, not re-run.")
                return
            # In this process, unless Step Functions runs the workflow: a `zappa manage`
            # invocation has Lambda's time limit, a state machine has none that matters.
            here = settings.PAYMENT_LIST_RUNNER != "stepfunctions"
            services.rerun_payment_list(payment_list, here=here)
            payment_list.refresh_from_db()
            self.stdout.write(
                f"{label}: re-run, now {payment_list.status}"
                + (f": {payment_list.failure_reason}" if payment_list.failure_reason else ".")
            )
