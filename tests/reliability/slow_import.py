"""`manage.py import_payment_list`, with every ImportList chunk held open for a moment.

A real, separate process running the real command; the pause (CHUNK_PAUSE_S, inside the
chunk's transaction, after its INSERT) only gives a test time to kill it in the middle
of ImportList, with some chunks committed and one in flight:

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

    from payment_lists import steps as list_steps

    pause = float(os.environ.get("CHUNK_PAUSE_S", "0.3"))
    insert = list_steps._insert_payments

    def slow_insert(*args):
        rows = insert(*args)
        time.sleep(pause)
        return rows

    list_steps._insert_payments = slow_insert
    call_command("import_payment_list", *argv)


if __name__ == "__main__":
    main(sys.argv[1:])
