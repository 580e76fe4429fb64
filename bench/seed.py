"""Seed a bench database: a big fleet around Seattle and confirmed riders with API tokens.

Run by bench/run.py as a child process with the same environment as the server under test
(SQLITE_PATH or DATABASE_URL), after `manage.py migrate`:

    python bench/seed.py --unicorns 20000 --riders 64 --tokens-file tokens.txt

Rows go in with `bulk_create` in large batches inside one transaction, so 20,000 unicorns
take about a second. Passwords are unusable (no PBKDF2 hashing): riders authenticate with
their tokens, or with a session made here as a sign-in would make it. The tokens are written
one a line for the load generator; with `--sessions-file`, each rider's session key and CSRF
secret too ("session csrf" a line, the riders in the same order), for requests signed in as
the ride page sends them.

The demo promo campaign is seeded too (geofenced around the city, daily cap per rider), as
on a real stage, so each ride request draws a discount; its budget is lifted so that the
draw takes the same path for the whole run.
"""

import argparse
import datetime
import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wildrydes.settings")

COLORS = ("white", "golden", "rainbow", "silver", "black", "rose", "azure", "violet")
GENDERS = ("male", "female", "nonbinary")


def seed_campaign() -> str:
    """The demo campaign without a budget limit; '' when the project has no promos."""
    try:
        from promos.demo import seed_demo_campaign
        from promos.models import Campaign
    except ImportError:
        return ""
    seed_demo_campaign()
    Campaign.objects.update(budget_minor=None)
    return ", ".join(Campaign.objects.filter(is_active=True).values_list("name", flat=True))


def signed_in(users) -> list[str]:
    """A session per user, as signing in makes it, and a CSRF secret: "session csrf" lines."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.base import VALID_KEY_CHARS
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    expires = timezone.now() + datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    store, sessions, lines = SessionStore(), [], []
    for user in users:
        data = {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: settings.AUTHENTICATION_BACKENDS[0],
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
        key = get_random_string(32, VALID_KEY_CHARS)
        sessions.append(Session(session_key=key, session_data=store.encode(data),
                                expire_date=expires))  # fmt: skip
        lines.append(f"{key} {get_random_string(32)}\n")
    Session.objects.bulk_create(sessions, batch_size=2000)
    return lines


def seed(*, unicorns, riders, center, spread, tokens_file, seed_value, campaign=True,
         sessions_file=None):  # fmt: skip
    import django

    django.setup()

    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from accounts.models import User
    from rides.models import Unicorn

    rng = random.Random(seed_value)
    lat0, lon0 = center
    dlat, dlon = spread
    now = timezone.now()
    with transaction.atomic():
        Unicorn.objects.bulk_create(
            (
                Unicorn(
                    name=f"Bench unicorn {i:06d}",
                    color=rng.choice(COLORS),
                    gender=rng.choice(GENDERS),
                    latitude=lat0 + rng.uniform(-dlat, dlat),
                    longitude=lon0 + rng.uniform(-dlon, dlon),
                )
                for i in range(unicorns)
            ),
            batch_size=2000,
        )
        unusable = make_password(None)
        emails = [f"bench-rider-{i:04d}@bench.wildrydes.example" for i in range(riders)]
        User.objects.bulk_create(
            User(email=email, password=unusable, email_confirmed_at=now) for email in emails
        )
        users = list(User.objects.filter(email__in=emails))
        tokens = [Token(key=Token.generate_key(), user=user) for user in users]
        Token.objects.bulk_create(tokens)
        sessions = signed_in(token.user for token in tokens) if sessions_file else []
        campaigns = seed_campaign() if campaign else ""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    elif connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    Path(tokens_file).write_text("".join(f"{t.key}\n" for t in tokens))
    if sessions_file:
        Path(sessions_file).write_text("".join(sessions))
    return Unicorn.objects.count(), len(tokens), campaigns


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unicorns", type=int, required=True)
    parser.add_argument("--riders", type=int, required=True)
    parser.add_argument("--center", type=float, nargs=2, default=(47.6062, -122.3321))
    parser.add_argument("--spread", type=float, nargs=2, required=True, help="±degrees lat lon")
    parser.add_argument("--tokens-file", required=True)
    parser.add_argument("--sessions-file", help="also sign each rider in: 'session csrf' lines")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-campaign", dest="campaign", action="store_false")
    args = parser.parse_args(argv)
    fleet, tokens, campaigns = seed(
        unicorns=args.unicorns,
        riders=args.riders,
        center=tuple(args.center),
        spread=tuple(args.spread),
        tokens_file=args.tokens_file,
        seed_value=args.seed,
        campaign=args.campaign,
        sessions_file=args.sessions_file,
    )
    print(f"seeded {fleet} unicorns, {tokens} riders with tokens, campaigns: {campaigns or '-'}")


if __name__ == "__main__":
    main()
