"""Section `payment_lists` of `make bench` (see bench/run.py): a big CSV payment list.

Per database (a SQLite file in a temp dir, then a throwaway PostgreSQL):

1. `manage.py migrate`, then bench/lists_child.py seeds the organization (a subscription
   that covers the list), the payers the CSV names and the rides it points at.
2. The raw path, bench/raw_import.py: the CSV read with csv.reader into a copy of the
   payments table by the driver's fastest path (sqlite3 executemany in one transaction,
   psycopg COPY), then one outbox row per payment set-based, each phase timed.
3. The real workflow in a fresh process: `manage.py import_payment_list FILE --organization
   "Bench Org"` (RegisterList, ValidateList, VerifySubscription, ImportList: the whole
   list in one transaction).
   Time per step from the workflow's own timing marks (logger `wildrydes.timing`, JSON
   logs), peak RSS of the process from wait4(), CPU of the process and of PostgreSQL.
4. Checks: the list imported, one payment and one PaymentRegistered outbox row per CSV row,
   no staged row left; the raw path wrote as many rows.

The CSV (deterministic, --list-rows rows) is generated once and cached in
$TMPDIR/wildrydes-bench-cache/.
"""

import json
import math
import os
import random
import re
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import run  # bench/run.py (registered under this name when it runs as __main__)

CACHE = Path(tempfile.gettempdir()) / "wildrydes-bench-cache"
CSV_VERSION = 1
PAYERS = 1000
RIDES = 100
GOALS = {"import": 1.25, "workflow": 2.0, "rss_mb": 100}
STEPS = ("RegisterList", "ValidateList", "VerifySubscription", "ImportList")


# --- the CSV --------------------------------------------------------------------------------


def payer_emails() -> list[str]:
    return [f"payer{i:04d}@bench.wildrydes.example" for i in range(PAYERS)]


def ride_ids() -> list[str]:
    rng = random.Random(2)
    return [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(RIDES)]


def ensure_csv(rows: int) -> Path:
    """The bench CSV with `rows` payments, generated once.

    Per 4 rows: one with a known payer's e-mail, one with an e-mail nobody has, two
    without; 1 row in 100 names one of the seeded rides; amounts 1.00-500.00, 80% USD,
    10% EUR, 10% GBP; unique references. Every row is valid.
    """
    path = CACHE / f"payments-{rows}-v{CSV_VERSION}.csv"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    rng, payers, rides = random.Random(1), payer_emails(), ride_ids()
    currencies = ["USD"] * 8 + ["EUR", "GBP"]
    partial = path.with_suffix(f".{os.getpid()}.part")
    with partial.open("w", newline="", encoding="utf-8") as out:
        out.write("reference,payer_email,amount,currency,ride_id\n")
        for i in range(rows):
            kind = i % 4
            email = (
                payers[rng.randrange(PAYERS)]
                if kind == 1
                else f"nobody{i}@elsewhere.example"
                if kind == 3
                else ""
            )
            cents = rng.randint(100, 50_000)
            ride = rides[rng.randrange(RIDES)] if i % 100 == 7 else ""
            out.write(
                f"BENCH-{i:08d},{email},{cents // 100}.{cents % 100:02d},"
                f"{currencies[i % 10]},{ride}\n"
            )
    partial.rename(path)
    print(f"  generated {path} in {time.monotonic() - started:.1f} s", flush=True)
    return path


# --- processes --------------------------------------------------------------------------------


def db_ticks(roots: list[int]) -> int:
    """CPU ticks of the database server so far, its ended backends included.

    A PostgreSQL backend lives as long as its connection: one that ended meanwhile is no
    longer in /proc, but the postmaster reaped it, so its time is in the postmaster's
    cutime/cstime.
    """
    total = sum(run._tree_ticks(run._processes(), roots).values())
    for pid in roots:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[13]) + int(fields[14])
    return total


def measured(cmd: list, *, env: dict, stdout: Path, stderr: Path, timeout: float, db_pids):
    """Run cmd to the end; (exit code, wall s, CPU s, peak RSS MB, db CPU s, other CPU)."""
    with stdout.open("wb") as out, stderr.open("wb") as err:
        meter = run.CpuMeter()
        db_before = db_ticks(db_pids)
        with meter:
            started = time.monotonic()
            proc = subprocess.Popen(cmd, cwd=run.ROOT, env=env, stdout=out, stderr=err)
            timer = threading.Timer(timeout, proc.kill)
            timer.start()
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            finally:
                timer.cancel()
            proc.returncode = os.waitstatus_to_exitcode(status)
            wall = time.monotonic() - started
        db_cpu = (db_ticks(db_pids) - db_before) / run.CLOCK_TICKS
    return {
        "code": proc.returncode,
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,  # KiB on Linux
        "db_cpu": db_cpu,
        "other_cpu": max(0.0, meter.machine_busy - usage.ru_utime - usage.ru_stime - db_cpu)
        / meter.machine_capacity
        if meter.machine_capacity
        else 0.0,
        "timed_out": wall >= timeout,
    }


def _query(db, sql: str):
    conn = run.minimal_app.connect(db.env)
    try:
        return conn.execute(sql).fetchone()
    finally:
        conn.close()


def timing_marks(stderr: Path) -> dict:
    """Step -> (total seconds, calls) from the workflow's JSON timing log lines."""
    steps = {}
    text = stderr.read_text(errors="replace").replace("\r", "\n")
    for match in re.finditer(r'\{"time".*\}', text):
        record = json.loads(match.group(0))
        if record.get("logger") != "wildrydes.timing":
            continue
        step = str(record.get("unit", "")).removeprefix("payment list ")
        seconds, calls = steps.get(step, (0.0, 0))
        steps[step] = (seconds + record["total_ms"] / 1000, calls + 1)
    return steps


def _keep_log(log: Path, title: str, path: Path) -> None:
    """Append a child's output to the section log, without the progress bar's redraws."""
    kept = []
    for line in path.read_text(errors="replace").replace("\r", "\n").splitlines():
        if '{"time"' in line:
            kept.append(line[line.index('{"time"') :])
        elif line.strip() and not re.search(r"\[[#.]+\]", line):
            kept.append(line)
    with log.open("a") as out:
        out.write(f"--- {title}\n" + "\n".join(kept) + "\n")


# --- one database ---------------------------------------------------------------------------


def _list_database(db, *, csv_path: Path, options, workdir: Path, log: Path) -> dict:
    env = run.server_env(db.env)
    env.update(
        DJANGO_MEDIA_ROOT=str(workdir / "media"),
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
        PAYMENT_LIST_RUNNER="inline",
    )
    rows = options.list_rows
    payers, rides = workdir / "payers.txt", workdir / "rides.txt"
    payers.write_text("\n".join(payer_emails()) + "\n")
    rides.write_text("\n".join(ride_ids()) + "\n")
    started = time.monotonic()
    with log.open("ab") as out:
        quiet = {"cwd": run.ROOT, "env": env, "stderr": subprocess.STDOUT, "check": True}
        subprocess.run([run.PYTHON, "manage.py", "migrate", "--no-input"], stdout=out, **quiet)
        seeded = subprocess.run(
            [
                run.PYTHON,
                str(run.BENCH / "lists_child.py"),
                "--rows",
                str(rows),
                "--payers-file",
                str(payers),
                "--rides-file",
                str(rides),
            ],
            stdout=subprocess.PIPE,
            **quiet,
        )
    organization_id, raw_list_id = (int(n) for n in seeded.stdout.split()[-2:])
    print(f"  prepared in {time.monotonic() - started:.1f} s", flush=True)
    result = {"database": db.name, "rows": rows, "problems": []}

    # The raw path.
    out, err = workdir / "raw.out", workdir / "raw.err"
    raw = measured(
        [
            run.PYTHON,
            str(run.BENCH / "raw_import.py"),
            str(csv_path),
            "--organization-id",
            str(organization_id),
            "--payment-list-id",
            str(raw_list_id),
        ],
        env=env,
        stdout=out,
        stderr=err,
        timeout=options.list_timeout,
        db_pids=db.server_pids,
    )
    _keep_log(log, "raw_import.py stdout", out)
    _keep_log(log, "raw_import.py stderr", err)
    if raw["code"] != 0:
        result["problems"].append(f"raw path exited with {raw['code']} (see {log})")
        return result
    raw.update(json.loads(out.read_text().split("BENCH_JSON ", 1)[1]))
    if not raw["rows"] == raw["outbox_rows"] == raw["csv_rows"] == rows:
        result["problems"].append(
            f"raw path: {raw['csv_rows']} CSV rows, {raw['rows']} payments, "
            f"{raw['outbox_rows']} outbox rows; expected {rows}"
        )
    result["raw"] = raw
    print(
        f"  raw: csv {raw['csv']:.1f} s, payments {raw['payments']:.1f} s, "
        f"outbox {raw['outbox']:.1f} s, peak RSS {raw['rss_mb']:.0f} MB",
        flush=True,
    )

    # The workflow.
    out, err = workdir / "workflow.out", workdir / "workflow.err"
    command = [run.PYTHON, "manage.py", "import_payment_list", str(csv_path)]
    command += ["--organization", "Bench Org"]
    workflow = measured(
        command,
        env=env,
        stdout=out,
        stderr=err,
        timeout=options.list_timeout,
        db_pids=db.server_pids,
    )
    workflow["steps"] = timing_marks(err)
    _keep_log(log, "import_payment_list stdout", out)
    _keep_log(log, "import_payment_list stderr", err)
    result["workflow"] = workflow
    if workflow["code"] != 0:
        why = "timed out" if workflow["timed_out"] else f"exited with {workflow['code']}"
        result["problems"].append(f"import_payment_list {why} (see {log})")
        return result
    newest = "SELECT status, rows_imported, id FROM payments_paymentlist WHERE id <> {} LIMIT 1"
    status, imported, list_id = _query(db, newest.format(int(raw_list_id)))
    payments = _query(
        db,
        f"SELECT count(*) FROM payments_payment WHERE payment_list_id = {int(list_id)}",  # noqa: S608
    )[0]
    events = _query(
        db,
        "SELECT count(*) FROM events_outboxevent WHERE type = 'payments.PaymentRegistered'",
    )[0]
    staged = _query(db, "SELECT count(*) FROM payments_paymentlistrow")[0]
    if (status, imported, payments, events, staged) != ("imported", rows, rows, rows, 0):
        result["problems"].append(
            f"workflow: list {status}, {imported} rows imported, {payments} payments, "
            f"{events} PaymentRegistered events, {staged} staged rows left; expected "
            f"imported, {rows}, {rows}, {rows}, 0"
        )
    missing = [step for step in STEPS if step not in workflow["steps"]]
    if missing:
        result["problems"].append(f"workflow: no timing mark for {', '.join(missing)}")
    steps = ", ".join(f"{name} {s:.1f} s" for name, (s, _) in workflow["steps"].items())
    print(
        f"  workflow: {steps}; process {workflow['wall']:.1f} s, "
        f"peak RSS {workflow['rss_mb']:.0f} MB",
        flush=True,
    )
    return result


def payment_lists(options) -> run.Section:
    print(f"\npayment_lists: {options.list_rows:,} rows", flush=True)
    csv_path = ensure_csv(options.list_rows)
    results, versions = [], []
    for name in options.databases:
        print(f"\npayment_lists, {name}:", flush=True)
        log = options.logdir / f"bench-payment_lists-{name}.log"
        log.unlink(missing_ok=True)
        with (
            tempfile.TemporaryDirectory(prefix=f"wildrydes-bench-lists-{name}-") as tmp,
            run.database(name, Path(tmp)) as db,
        ):
            started = time.monotonic()
            found = _list_database(
                db, csv_path=csv_path, options=options, workdir=Path(tmp), log=log
            )
            found["seconds"] = time.monotonic() - started
            versions.append(run.database_version(db))
        for problem in found["problems"]:
            print(f"  ! {problem}", flush=True)
        print(f"  {name}: {found['seconds']:.0f} s in all", flush=True)
        results.append(found)
    return run.Section(
        key="payment_lists",
        title="Payment lists: validate and import a big CSV",
        markdown=_markdown(results, versions, options, csv_path),
        results=results,
        failed=any(r["problems"] for r in results),
    )


# --- the report ---------------------------------------------------------------------------


def step_seconds(workflow: dict, step: str) -> float:
    return workflow["steps"].get(step, (math.nan, 0))[0]


def figures(result: dict) -> dict:
    raw, workflow = result["raw"], result["workflow"]
    raw_all = raw["payments"] + raw["outbox"]
    steps = sum(step_seconds(workflow, step) for step in STEPS)
    import_s = step_seconds(workflow, "ImportList")
    return {
        "raw_all": raw_all,
        "steps": steps,
        "import_vs_raw_all": import_s / raw_all,
        "import_vs_raw_payments": import_s / raw["payments"],
        "workflow_vs_raw_all": steps / raw_all,
        "workflow_vs_raw_payments": steps / raw["payments"],
    }


def _verdict(value: float, goal: float) -> str:
    return "meets it" if value <= goal else "misses it"


def _markdown(results, versions, options, csv_path: Path) -> str:
    rows = options.list_rows
    mb = csv_path.stat().st_size / 1e6
    others = [
        part.get("other_cpu", 0.0)
        for r in results
        for part in (r.get("raw", {}), r.get("workflow", {}))
    ]
    durations = ", ".join(f"{r['database']} {r['seconds']:.0f} s" for r in results)
    lines = [
        f"Measured {options.started:%Y-%m-%d %H:%M} UTC at commit `{options.commit}` "
        f"with `{options.command}`.",
        "",
        f"- Machine: {options.machine}",
        f"- Software: {options.software}; {', '.join(versions)}",
        f"- The list: {rows:,} rows, {mb:.0f} MB of CSV, all valid; a quarter name a known "
        "payer, a quarter an unknown e-mail, 1 in 100 a ride; `PAYMENT_LIST_IMPORT_CHUNK` "
        "as committed.",
        f"- This section took {durations} (seeding and checks included).",
        f"- Other processes on the machine used up to {max(others, default=0.0):.0%} of its "
        "CPU while a path ran.",
        "",
        "| database | path | seconds | rows/s | x raw payments + outbox | process CPU s "
        "| db CPU s | peak RSS MB |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]

    def row(name, label, seconds, raw_all, cpu="", db_cpu="", rss="", per_row=True):
        speed = f"{rows / seconds:,.0f}" if seconds and per_row else "-"
        ratio = f"{seconds / raw_all:.2f}" if raw_all else "-"
        lines.append(
            f"| {name} | {label} | {seconds:.1f} | {speed} | {ratio} | {cpu} | {db_cpu} | {rss} |"
        )

    for r in results:
        if "raw" not in r or "steps" not in r.get("workflow", {}):
            lines.append(f"| {r['database']} | failed: {'; '.join(r['problems'])} |")
            continue
        raw, workflow, f = r["raw"], r["workflow"], figures(r)
        name, pg = r["database"], r["database"] != "sqlite"
        raw_cpu, raw_db = f"{raw['cpu']:.1f}", f"{raw['db_cpu']:.1f}" if pg else "-"
        row(name, "raw: read the CSV only", raw["csv"], f["raw_all"])
        row(name, "raw: payments only", raw["payments"], f["raw_all"])
        row(
            name, "**raw: payments + outbox rows**", f["raw_all"], f["raw_all"],
            raw_cpu, raw_db, f"{raw['rss_mb']:.0f}",
        )  # fmt: skip
        for step in STEPS:
            seconds, calls = workflow["steps"].get(step, (math.nan, 0))
            label = f"workflow: {step}" + (f" ({calls} calls)" if calls > 1 else "")
            # rows/s and the ratio mean little for the two steps that do not touch the rows
            scaled = step in ("ValidateList", "ImportList")
            row(name, label, seconds, f["raw_all"] if scaled else 0, per_row=scaled)
        row(name, "**workflow: the 4 steps**", f["steps"], f["raw_all"])
        row(
            name, "workflow: the whole command (start-up, file copy)", workflow["wall"],
            f["raw_all"], f"{workflow['cpu']:.1f}",
            f"{workflow['db_cpu']:.1f}" if pg else "-", f"{workflow['rss_mb']:.0f}",
        )  # fmt: skip
    lines += [
        "",
        "| database | ImportList / raw payments + outbox (goal <= 1.25) "
        "| ImportList / raw payments only | workflow / raw payments + outbox (goal <= 2) "
        "| workflow / raw payments only | peak RSS of the import (goal < 100 MB) |",
        "|---|---|---:|---|---:|---|",
    ]
    for r in results:
        if "raw" not in r or "steps" not in r.get("workflow", {}):
            continue
        f, rss = figures(r), r["workflow"]["rss_mb"]
        lines.append(
            f"| {r['database']} | {f['import_vs_raw_all']:.2f}: "
            f"{_verdict(f['import_vs_raw_all'], GOALS['import'])} "
            f"| {f['import_vs_raw_payments']:.2f} "
            f"| {f['workflow_vs_raw_all']:.2f}: "
            f"{_verdict(f['workflow_vs_raw_all'], GOALS['workflow'])} "
            f"| {f['workflow_vs_raw_payments']:.2f} "
            f"| {rss:.0f} MB: {'meets it' if rss < GOALS['rss_mb'] else 'misses it'} |"
        )
    return "\n".join(lines)
