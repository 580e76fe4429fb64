"""The lock-wait sampler's arithmetic (load/lockwaits.py), on made-up samples: a statement's
wait runs from when its first wait began to the last sample that saw it waiting, so a chain
of short waits counts as one long one; two executions of a statement are apart."""

from datetime import UTC, datetime, timedelta

from load.lockwaits import fold_sample, report, shape

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
UPDATE = "UPDATE bi_dailyaggregate SET rides_completed = rides_completed + 1 WHERE id = 7"


def ms(n: float) -> datetime:
    return T0 + timedelta(milliseconds=n)


def row(pid, query_start, waitstart, now, query=UPDATE, relation="bi_dailyaggregate"):
    return (pid, query_start, waitstart, now, "tuple", "ExclusiveLock", relation, query, "COMMIT")


def test_a_chain_of_short_waits_is_one_wait_from_its_first_lock_to_the_last_sample():
    statements: dict = {}
    # pid 10 waits 30 ms for one lock, gets it, then waits for another one until 140 ms.
    fold_sample(statements, [row(10, ms(0), ms(5), ms(20))])
    fold_sample(statements, [row(10, ms(0), ms(5), ms(30))])
    fold_sample(statements, [row(10, ms(0), ms(40), ms(90))])
    fold_sample(statements, [row(10, ms(0), ms(40), ms(140))])
    found = report(statements)
    [entry] = found["statements"]
    assert entry["longest_ms"] == 135.0  # from 5 ms to 140 ms
    assert entry["longest_chain"] == 2
    assert (found["over_goal"], found["longest_ms"]) == (1, 135.0)


def test_executions_are_told_apart_by_backend_and_query_start_and_grouped_by_statement():
    statements: dict = {}
    fold_sample(
        statements,
        [
            row(10, ms(0), ms(1), ms(50)),  # 49 ms
            row(11, ms(0), ms(2), ms(12)),  # 10 ms, another backend
            row(10, ms(200), ms(201), ms(221), query=UPDATE.replace("7", "8")),  # 20 ms, next
        ],
    )
    fold_sample(statements, [(12, ms(0), None, ms(60), "tuple", "x", None, "SELECT 1", None)])
    found = report(statements)
    assert found["blocked_statements"] == 3  # the granted row (no waitstart) is not a wait
    [entry] = found["statements"]  # one statement, whatever its values
    assert (entry["waits"], entry["longest_ms"], entry["over_goal"]) == (3, 49.0, 0)


def test_statement_shape_drops_values():
    assert shape("SELECT * FROM t WHERE a = 'x''y' AND b IN (1, 2, 3) AND c = 4.5") == (
        "SELECT * FROM t WHERE a = ? AND b IN (?...) AND c = ?"
    )
