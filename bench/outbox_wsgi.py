"""The project's WSGI app for the outbox benchmark: the outbox on, off, or delivering later.

    BENCH_OUTBOX=off gunicorn --chdir bench outbox_wsgi:application

- BENCH_OUTBOX=on (or unset): wildrydes.wsgi unchanged (the committed settings:
  EVENTS_DELIVERY "inline", delivery after commit, before the answer; see events/relay.py).
- BENCH_OUTBOX=relay: `settings.EVENTS_DELIVERY = "relay"` (nothing after commit; the
  relay loop, `manage.py relay_events --loop`, publishes).
- BENCH_OUTBOX=off: `emit` becomes a no-op in this process only: a payment is registered
  exactly as usual (same view, same transaction) but writes no OutboxEvent and so delivers
  nothing after commit.
Only bench/ reads BENCH_OUTBOX; the app has no such setting.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from wildrydes.wsgi import application  # noqa: E402  (sets Django up)

OUTBOX = os.environ.get("BENCH_OUTBOX", "on")
if OUTBOX not in ("on", "relay", "off"):
    raise SystemExit(f"BENCH_OUTBOX must be on, relay or off, not {OUTBOX!r}")

if OUTBOX == "relay":
    from django.conf import settings

    settings.EVENTS_DELIVERY = OUTBOX

if OUTBOX == "off":
    import events.outbox
    import payments.events

    def _no_outbox(event_type, data, *, version=1):
        return None

    # payments.events imported `emit` by name; patch both names.
    events.outbox.emit = _no_outbox
    payments.events.emit = _no_outbox

__all__ = ["application"]
