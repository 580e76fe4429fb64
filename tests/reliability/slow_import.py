"""`manage.py import_payment_list`, held still at a chosen point so a test can kill it there.

A real, separate process running the real command. PAUSE_IN names where it stops, leaving a
marker file (MARKER) and then sleeping PAUSE_S:

- "import": inside ImportList's transaction, after its INSERT of every payment (nothing of
  it committed);
- "validate": in ValidateList, after the first staged chunk has committed.

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

    where = os.environ.get("PAUSE_IN", "import")
    pause = float(os.environ.get("PAUSE_S", "60"))
    marker = Path(os.environ["MARKER"])
    name = {"import": "_insert_payments", "validate": "_flush"}[where]
    real = getattr(list_steps, name)

    def held(*args):
        result = real(*args)
        marker.write_text(where)
        time.sleep(pause)
        return result

    setattr(list_steps, name, held)
    call_command("import_payment_list", *argv)


if __name__ == "__main__":
    main(sys.argv[1:])
