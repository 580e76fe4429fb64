"""A live PostgreSQL stopped and restarted under a running gunicorn, with riders riding.

Its own throwaway server (tests/pgcluster.py), so it never touches the suite's database:
migrate, seed, start the project under gunicorn on loopback, let a few riders book and
complete rides, stop PostgreSQL (`pg_ctl stop -m fast`: open connections are cut), keep
riding, start it again on the same port and data. Every answer must be 200/201 or a 503
with a sentence (never a 500, never a dropped connection); a rider retries a 503 with the
same Idempotency-Key, as the contract allows. Afterwards the database must agree with
every answer: no ride booked twice, none lost, one fare payment per completed ride, the
fleet free again.

Needs PostgreSQL's server binaries: without them it is skipped locally, and fails when
CI=true.
"""

import http.client
import json
import secrets
import subprocess
import sys
import threading
import time
import uuid
from types import SimpleNamespace

import pytest

from tests import pgcluster
from tests.loopback import server_env
from tests.reliability.support import IN_CI, ROOT

PASSWORD = secrets.token_urlsafe(12)
RIDERS = 3
PICKUP = {"latitude": 47.6062, "longitude": -122.3321}
DROPOFF = {"latitude": 47.615, "longitude": -122.34}


def _require_postgres():
    if pgcluster.available():
        return
    message = "needs PostgreSQL's server binaries (apt-get install postgresql)"
    if IN_CI:
        pytest.fail(f"CI=true: {message}")
    pytest.skip(message)


def _pg_ctl(cluster, *args) -> None:
    """pg_ctl on the cluster's data directory, as tests/pgcluster.py runs it."""
    command = [pgcluster.find_bin("pg_ctl"), "-D", str(cluster.data), *args]
    subprocess.run(
        pgcluster.as_server_user(command),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=60,
    )


def stop_server(cluster) -> None:
    _pg_ctl(cluster, "-m", "fast", "-w", "stop")


class Rider:
    """A rider on its own connection; records every answer."""

    def __init__(self, port: int, email: str, answers: list):
        self.port, self.email, self.answers = port, email, answers
        self.token = None
        self.booked, self.completed = [], {}

    def call(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        sent = {"Content-Type": "application/json", **(headers or {})}
        if self.token:
            sent["Authorization"] = f"Token {self.token}"
        try:
            conn.request(method, path, body=json.dumps(body) if body else b"", headers=sent)
            response = conn.getresponse()
            raw = response.read()
            answer = (response.status, json.loads(raw) if raw else None, response.headers)
        except (OSError, http.client.HTTPException, ValueError) as error:
            answer = (-1, {"error": repr(error)}, {})
        finally:
            conn.close()
        self.answers.append((time.monotonic(), method, path, answer[0], answer[1]))
        return answer

    def until_answered(self, method, path, body=None, headers=None, give_up_at=None):
        """Repeat while the answer is a 503, or a 409 with Retry-After (a request with this
        Idempotency-Key, cut off by the outage, is still claimed): the same request, the
        same Idempotency-Key."""
        while True:
            status, data, answer_headers = self.call(method, path, body, headers)
            come_back = status == 503 or (status == 409 and "Retry-After" in answer_headers)
            if not come_back or time.monotonic() > give_up_at:
                return status, data
            time.sleep(0.2)

    def journey(self, give_up_at):
        key = {"Idempotency-Key": uuid.uuid4().hex}
        body = {"pickup": PICKUP, "dropoff": DROPOFF}
        status, data = self.until_answered("POST", "/api/rides/", body, key, give_up_at)
        if status != 201:
            return
        self.booked.append(data["id"])
        if not self.board(data["id"], give_up_at):
            return
        path = f"/api/rides/{data['id']}/complete/"
        status, data = self.until_answered("POST", path, give_up_at=give_up_at)
        if status in (200, 409):  # 409: an earlier try committed but its answer was lost
            self.completed[data.get("id") or path.split("/")[3]] = data.get("payment")

    def board(self, ride_id, give_up_at) -> bool:
        """Board once the unicorn is there (the server's clock runs fast, RIDE_TIME_SCALE)."""
        path = f"/api/rides/{ride_id}/"
        while time.monotonic() < give_up_at:
            status, data = self.until_answered("POST", path + "board/", give_up_at=give_up_at)
            if status == 200:
                return True
            status, data = self.until_answered("GET", path, give_up_at=give_up_at)
            if status != 200 or data["status"] not in ("assigned", "arrived", "in_progress"):
                return False
            if data["status"] == "in_progress":  # an earlier try committed, its answer lost
                return True
            time.sleep(0.05)
        return False

    def ride(self, stop: threading.Event, give_up_at: float):
        while not stop.is_set() and time.monotonic() < give_up_at:
            self.journey(give_up_at)


def _until(condition, give_up_at: float) -> None:
    """Wait for what the riders are doing (their answers are asserted afterwards)."""
    while not condition() and time.monotonic() < give_up_at:
        time.sleep(0.05)


def _server_env(url: str) -> dict:
    return server_env(
        {"DATABASE_URL": url},
        # Unicorns arrive within a second or so; a rider has 36 s to board.
        RIDE_TIME_SCALE="1000",
        RIDE_BOARDING_MINUTES="600",
    )


def _run(args, env, log):
    subprocess.run([sys.executable, *args], cwd=ROOT, env=env, check=True, stdout=log, stderr=log)


def _query(url: str, sql: str):
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.slow
def test_api_answers_503_while_postgres_is_down_and_recovers_when_it_returns(tmp_path):
    _require_postgres()
    from load.run import gunicorn

    cluster = pgcluster.Cluster().start()
    log_path = tmp_path / "server.log"
    try:
        env = _server_env(cluster.url)
        with log_path.open("ab") as log:
            _run(["manage.py", "migrate", "--no-input", "-v0"], env, log)
            seed = [str(ROOT / "load/seed.py"), "--unicorns", "40", "--riders", str(RIDERS)]
            seed += [f"--password={PASSWORD}", "--center", "47.6062", "-122.3321"]  # "-..." too
            seed += ["--spread", "0.02", "0.03", "--riders-file", str(tmp_path / "riders")]
            _run(seed, env, log)
        options = SimpleNamespace(workers=2, worker_class="sync", threads=1)
        with gunicorn(env=env, options=options, log=log_path) as base_url:
            port = int(base_url.rsplit(":", 1)[1])
            answers: list = []
            riders = [
                Rider(port, email, answers) for email in (tmp_path / "riders").read_text().split()
            ]
            for rider in riders:
                status, data, _ = rider.call(
                    "POST", "/api/auth/token/", {"email": rider.email, "password": PASSWORD}
                )
                assert status == 200, data
                rider.token = data["token"]

            stop, give_up_at = threading.Event(), time.monotonic() + 90
            threads = [
                threading.Thread(target=r.ride, args=(stop, give_up_at), daemon=True)
                for r in riders
            ]
            for thread in threads:
                thread.start()
            # The outage comes while every rider is on a journey (has booked a ride).
            _until(lambda: all(rider.booked for rider in riders), give_up_at)

            stop_server(cluster)
            down_at = time.monotonic()
            probe = Rider(port, "probe", [])
            health = probe.call("GET", "/api/health/")
            probe.token = riders[0].token
            booking = probe.call("POST", "/api/rides/", {"pickup": PICKUP})
            listing = probe.call("GET", "/api/rides/")
            # The server stays down until the riders have run into it too.
            _until(lambda: any(a[3] == 503 and a[0] > down_at for a in answers), give_up_at)

            cluster.start_server()
            up_at = time.monotonic()
            while time.monotonic() - up_at < 20:
                if probe.call("GET", "/api/health/")[0] == 200:
                    break
                time.sleep(0.2)
            recovered_in = time.monotonic() - up_at
            # The riders ride on until one of them is answered again.
            _until(lambda: any(a[3] in (200, 201) and a[0] > up_at for a in answers), give_up_at)
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
            assert not any(t.is_alive() for t in threads), "a rider never got an answer"
        rides = _query(cluster.url, "SELECT id::text, status FROM rides_ride")
        payments = _query(
            cluster.url,
            "SELECT ride_id::text, id::text FROM payments_payment WHERE ride_id IS NOT NULL",
        )
        busy = _query(cluster.url, "SELECT count(*) FROM rides_unicorn WHERE NOT is_available")
        keys = _query(
            cluster.url, "SELECT count(*) FROM core_idempotencyrecord WHERE scope = 'rides.create'"
        )
    finally:
        cluster.stop()
    print(
        f"outage: {len(answers)} answers, {sum(a[3] == 503 for a in answers)} of them 503; "
        f"{len(rides)} rides; health back {recovered_in:.1f} s after the server started"
    )

    # While the server was down: 503s with a sentence, health says why.
    assert health[0] == 503 and health[1] == {"status": "degraded", "database": "unavailable"}
    for status, body, headers in (booking, listing):
        assert status == 503, body
        assert "database" in body["detail"] and int(headers["Retry-After"]) > 0
    # Every answer the riders got: a success, or a 503 during the outage; never a 500 or a
    # dropped connection.
    statuses = {answer[3] for answer in answers}
    assert statuses <= {200, 201, 409, 503}, [a for a in answers if a[3] not in (200, 201, 503)]
    unavailable = [a for a in answers if a[3] == 503]
    assert unavailable, "the riders never saw the outage"
    assert all("database" in a[4]["detail"] for a in unavailable)
    assert all(down_at - 1 <= a[0] <= up_at + recovered_in + 1 for a in unavailable)
    assert recovered_in < 10
    assert any(a[0] > up_at and a[3] in (200, 201) for a in answers), "no ride after recovery"

    # The database agrees with every answer.
    booked = [ride for rider in riders for ride in rider.booked]
    completed = {ride: p for rider in riders for ride, p in rider.completed.items()}
    in_db = dict(rides)
    assert len(booked) == len(set(booked)) == len(in_db) == keys[0][0]
    assert set(booked) == set(in_db)
    assert {r for r, s in in_db.items() if s == "completed"} == set(completed)
    payment_of = dict(payments)
    assert len(payments) == len(payment_of) == len(completed)
    assert all(payment_of[r] == p for r, p in completed.items() if p)
    active = ("assigned", "arrived", "in_progress")
    assert busy[0][0] == sum(1 for s in in_db.values() if s in active) == 0
