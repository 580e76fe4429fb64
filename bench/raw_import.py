"""The raw path for a payment list: the CSV into a payments-shaped table, nothing else.

A plain script (no Django), run by bench/lists_bench.py as a child process against the
database the workflow uses (SQLITE_PATH or DATABASE_URL), after `manage.py migrate`:

    python bench/raw_import.py payments.csv --organization-id 1 --payment-list-id 2

- `raw_payment` is a copy of `payments_payment` as migrations made it (columns, primary
  key, unique reference, every index, the foreign keys; ids filled by the database: SQLite
  `lower(hex(randomblob(16)))`, PostgreSQL `gen_random_uuid()`, as the workflow does) and
  `raw_outbox` a copy of `events_outboxevent` (its indexes, including the partial one).
- Phase `csv`: read the file with csv.reader and build the rows (amount to cents, the ride
  id as the column stores it); no database.
- Phase `payments`: the same again, the rows going into `raw_payment` in one transaction by
  the driver's fastest path: sqlite3 `executemany`, or psycopg `COPY ... FROM STDIN`.
  The rows carry the organization and a payment list, as imported payments do (so the
  same foreign keys are checked); no validation of any kind, no payer lookup (payer_id
  stays empty), no staging table.
- Phase `outbox`: one `PaymentRegistered` row per payment into `raw_outbox`, set-based in
  one statement (`INSERT ... SELECT` building the same JSON payload as the workflow), in a
  second transaction.

Prints one line "BENCH_JSON {...}" with the seconds of each phase; drops both tables after.
"""

import argparse
import csv
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

COLUMNS = (
    "reference, amount_minor, currency, status, ride_id, payer_id, payer_email, "
    "organization_id, payment_list_id, registered_at, registered_by, verified_by, deleted_by"
)
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=20000",
    "PRAGMA foreign_keys=ON",
)
PAYLOAD_KEYS = (
    "payment_id", "reference", "amount_minor", "currency", "status", "ride_id", "payer_id",
    "payer_email", "organization_id",
)  # fmt: skip


def rows(path: Path, *, organization_id: int, list_id: int, now, postgres: bool):
    """The payment rows of the CSV, as the driver takes them."""
    with path.open(newline="", encoding="utf-8-sig") as text:
        reader = csv.reader(text)
        next(reader)
        for reference, email, amount, currency, ride in reader:
            whole, _, cents = amount.partition(".")
            minor = int(whole) * 100 + int((cents + "00")[:2])
            ride_id = (ride if postgres else ride.replace("-", "")) or None
            yield (
                reference, minor, currency, "registered", ride_id, None, email,
                organization_id, list_id, now, "raw", "", "",
            )  # fmt: skip


def _uuid_text_sqlite(column: str) -> str:
    parts = [(1, 8), (9, 4), (13, 4), (17, 4), (21, 12)]
    return " || '-' || ".join(f"substr({column}, {start}, {size})" for start, size in parts)


def outbox_sql(postgres: bool) -> str:
    if postgres:
        text, new_id, build = "{}::text".format, "gen_random_uuid()", "jsonb_build_object"
    else:
        text, new_id, build = _uuid_text_sqlite, "lower(hex(randomblob(16)))", "json_object"
    values = {
        "payment_id": text("p.id"),
        "reference": "p.reference",
        "amount_minor": "p.amount_minor",
        "currency": "p.currency",
        "status": "p.status",
        "ride_id": f"CASE WHEN p.ride_id IS NULL THEN NULL ELSE {text('p.ride_id')} END",
        "payer_id": "p.payer_id",
        "payer_email": "p.payer_email",
        "organization_id": "p.organization_id",
    }
    pairs = ", ".join(f"'{key}', {values[key]}" for key in PAYLOAD_KEYS)
    data = f"{build}({pairs})"
    columns = "id, type, version, occurred_at, data, publish_attempts, last_error"
    values = f"{new_id}, 'payments.PaymentRegistered', 1, %s, {data}, 0, ''"
    return f"INSERT INTO raw_outbox ({columns}) SELECT {values} FROM raw_payment p"  # noqa: S608


# --- SQLite -----------------------------------------------------------------------------------


def _sqlite_clone(conn, source: str, target: str) -> None:
    conn.execute(f"DROP TABLE IF EXISTS {target}")
    ddl = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (source,)).fetchone()[0]
    ddl = ddl.replace(f'"{source}"', f'"{target}"', 1)
    primary = '"id" char(32) NOT NULL PRIMARY KEY'
    if primary not in ddl:
        raise SystemExit(f"raw_import.py does not know this primary key: {ddl}")
    conn.execute(ddl.replace(primary, primary + " DEFAULT (lower(hex(randomblob(16))))"))
    indexes = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
        (source,),
    ).fetchall()
    for (sql,) in indexes:
        sql = sql.replace(f'ON "{source}"', f'ON "{target}"').replace('INDEX "', 'INDEX "raw_', 1)
        conn.execute(sql)


def run_sqlite(path: Path, *, organization_id: int, list_id: int) -> dict:
    import sqlite3

    conn = sqlite3.connect(os.environ["SQLITE_PATH"], timeout=20, isolation_level=None)
    for pragma in SQLITE_PRAGMAS:
        conn.execute(pragma)
    _sqlite_clone(conn, "payments_payment", "raw_payment")
    _sqlite_clone(conn, "events_outboxevent", "raw_outbox")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ")
    found = {}

    started = time.perf_counter()
    count = sum(
        1
        for _ in rows(
            path, organization_id=organization_id, list_id=list_id, now=now, postgres=False
        )
    )
    found["csv"] = time.perf_counter() - started

    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        f"INSERT INTO raw_payment ({COLUMNS}) VALUES ({', '.join(['?'] * 13)})",  # noqa: S608
        rows(path, organization_id=organization_id, list_id=list_id, now=now, postgres=False),
    )
    conn.execute("COMMIT")
    found["payments"] = time.perf_counter() - started

    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(outbox_sql(postgres=False).replace("%s", "?"), (now,))
    conn.execute("COMMIT")
    found["outbox"] = time.perf_counter() - started

    found["rows"] = conn.execute("SELECT count(*) FROM raw_payment").fetchone()[0]
    found["outbox_rows"] = conn.execute("SELECT count(*) FROM raw_outbox").fetchone()[0]
    found["csv_rows"] = count
    conn.execute("DROP TABLE raw_outbox")
    conn.execute("DROP TABLE raw_payment")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return found


# --- PostgreSQL -------------------------------------------------------------------------------


def _pg_clone(cur, source: str, target: str) -> None:
    cur.execute(f"DROP TABLE IF EXISTS {target}")
    cur.execute(f"CREATE TABLE {target} (LIKE {source} INCLUDING ALL)")
    cur.execute(f"ALTER TABLE {target} ALTER COLUMN id SET DEFAULT gen_random_uuid()")
    cur.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype = 'f'",
        (source,),
    )
    for name, definition in cur.fetchall():
        cur.execute(f"ALTER TABLE {target} ADD CONSTRAINT raw_{name} {definition}")


def run_postgres(path: Path, *, organization_id: int, list_id: int) -> dict:
    import psycopg

    conn = psycopg.connect(os.environ["DATABASE_URL"])
    with conn.cursor() as cur:
        _pg_clone(cur, "payments_payment", "raw_payment")
        _pg_clone(cur, "events_outboxevent", "raw_outbox")
    conn.commit()
    now = datetime.now(UTC)
    found = {}

    started = time.perf_counter()
    count = sum(
        1
        for _ in rows(
            path, organization_id=organization_id, list_id=list_id, now=now, postgres=True
        )
    )
    found["csv"] = time.perf_counter() - started

    started = time.perf_counter()
    with conn.cursor() as cur, cur.copy(f"COPY raw_payment ({COLUMNS}) FROM STDIN") as copy:
        for row in rows(
            path, organization_id=organization_id, list_id=list_id, now=now, postgres=True
        ):
            copy.write_row(row)
    conn.commit()
    found["payments"] = time.perf_counter() - started

    started = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute(outbox_sql(postgres=True), (now,))
    conn.commit()
    found["outbox"] = time.perf_counter() - started

    with conn.cursor() as cur:
        found["rows"] = cur.execute("SELECT count(*) FROM raw_payment").fetchone()[0]
        found["outbox_rows"] = cur.execute("SELECT count(*) FROM raw_outbox").fetchone()[0]
        found["csv_rows"] = count
        cur.execute("DROP TABLE raw_outbox")
        cur.execute("DROP TABLE raw_payment")
    conn.commit()
    with conn.cursor() as cur:
        conn.autocommit = True
        cur.execute("CHECKPOINT")
    conn.close()
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--organization-id", type=int, required=True)
    parser.add_argument("--payment-list-id", type=int, required=True)
    args = parser.parse_args(argv)
    postgres = bool(os.environ.get("DATABASE_URL"))
    run = run_postgres if postgres else run_sqlite
    found = run(args.file, organization_id=args.organization_id, list_id=args.payment_list_id)
    print("BENCH_JSON " + json.dumps(found), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
