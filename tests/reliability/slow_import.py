"""`manage.py import_payment_list`, held still at a chosen point so a test can kill it there.

A real, separate process running the real command. PAUSE_IN names where it stops, leaving a
marker file (MARKER) and then sleeping PAUSE_S:

- "import": inside ImportList's transaction, after its INSERT of every payment (nothing of
  it committed);
- "validate": in ValidateList, after the first staged chunk has committed; with RENEW=1
  it keeps renewing its hold on the step meanwhile, as a copy at work does.

STEP_LEASE_S sets how long its hold on a step lasts (payment_lists.steps.STEP_LEASE_SECONDS);
SUBMITTER_EMAIL, the list's submitter (told of the outcome).

    python tests/reliability/slow_import.py FILE --organization NAME
"""

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wildrydes.settings")


def main(argv: list[str]) -> None:
    import django

    django.setup()

    from django.core.management import call_command

    from payment_lists import runs
    from payment_lists import steps as list_steps
    from payment_lists.models import PaymentList

    where = os.environ.get("PAUSE_IN", "import")
    pause = float(os.environ.get("PAUSE_S", "60"))
    marker = Path(os.environ["MARKER"])
    renew = os.environ.get("RENEW") == "1"
    if os.environ.get("STEP_LEASE_S"):
        list_steps.STEP_LEASE_SECONDS = float(os.environ["STEP_LEASE_S"])
    submitter = os.environ.get("SUBMITTER_EMAIL", "")
    name = {"import": "_insert_payments", "validate": "_flush"}[where]
    real = getattr(list_steps, name)

    def held(*args):
        result = real(*args)
        marker.write_text(where)
        until = time.monotonic() + pause
        while time.monotonic() < until:
            time.sleep(0.2)
            if renew:  # _flush(chunk, payment_list): the list as its holder has it
                list_steps._renew(args[-1])
        return result

    setattr(list_steps, name, held)
    if submitter:
        real_claim = runs.claim_new

        def claim_new(payment_list_id, **kwargs):
            PaymentList.objects.filter(pk=payment_list_id).update(submitter_email=submitter)
            return real_claim(payment_list_id, **kwargs)

        runs.claim_new = claim_new
    call_command("import_payment_list", *argv)


if __name__ == "__main__":
    main(sys.argv[1:])
