"""The load generator: riders as threads in a few processes, each on its own connection.

First every rider signs in (POST /api/auth/token/), all at once (`sign_in_all`). Then
(`run`) every rider rides until the time is up, as the ride page does: POST /api/rides/
with an Idempotency-Key, poll GET /api/rides/{id}/ until the unicorn has arrived (the
server's clock runs fast: RIDE_TIME_SCALE), POST .../board/, then POST .../complete/. A
ride that was booked is always completed, even after the time is up, so the fleet ends
free. A request whose connection fails is retried (the ride request with the same
Idempotency-Key, so a retry can never book twice); everything is bounded in count and
time. Only loopback addresses are accepted as targets.

Each process sends back its samples (step, start, latency, status) and what the server
acknowledged (ride ids, completions, payment ids) for the reconciliation.
"""

import http.client
import json
import multiprocessing
import random
import threading
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

LOOPBACK = ("127.", "localhost", "[::1]", "::1")
TRANSPORT_ERROR = -1  # status recorded when no HTTP answer came back
RETRIES = 3
REQUEST_TIMEOUT_S = 60.0
POLL_S = 2.0  # the ride page's polling interval
FINISH_GRACE_S = 60.0  # after the end, time left to complete rides already booked
SIGN_IN_DEADLINE_S = 300.0


@dataclass(frozen=True)
class Plan:
    base_url: str
    emails: list
    password: str
    duration_s: float
    processes: int
    center: tuple
    spread: tuple
    seed: int = 1


def _check_loopback(base_url: str) -> tuple[str, int]:
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if not host.startswith(LOOPBACK):
        raise ValueError(f"load only goes to loopback addresses, not {host!r}")
    return host, parts.port or 80


class Rider:
    """One rider on one keep-alive connection (reopened when the server closes it)."""

    def __init__(self, plan: Plan, email: str, rng: random.Random, record, token=None):
        self.plan, self.email, self.rng, self.record = plan, email, rng, record
        self.host, self.port = _check_loopback(plan.base_url)
        self.conn = None
        self.token = token

    def _send(self, method, path, body, headers):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT_S)
        payload = json.dumps(body).encode() if body is not None else b""
        self.conn.request(method, path, body=payload, headers=headers)
        response = self.conn.getresponse()
        raw = response.read()
        if response.will_close:
            self.conn.close()
            self.conn = None
        return response.status, raw

    def call(self, step: str, method: str, path: str, body=None, extra_headers=None):
        """One request, retried on a transport error; returns (status, parsed body)."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        headers.update(extra_headers or {})
        for attempt in range(1, RETRIES + 1):
            started = time.time()
            try:
                status, raw = self._send(method, path, body, headers)
            except (OSError, http.client.HTTPException) as error:
                self.record(step, started, time.time() - started, TRANSPORT_ERROR, repr(error))
                if self.conn is not None:
                    self.conn.close()
                    self.conn = None
                if attempt == RETRIES:
                    return TRANSPORT_ERROR, None
                time.sleep(0.2 * attempt)
                continue
            try:
                data = json.loads(raw) if raw else None
            except ValueError:
                data = {"raw": raw[:200].decode("utf-8", "replace")}
            note = "" if status < 400 else json.dumps(data)[:300]
            self.record(step, started, time.time() - started, status, note)
            return status, data
        return TRANSPORT_ERROR, None  # pragma: no cover

    def point(self) -> dict:
        (lat0, lon0), (dlat, dlon) = self.plan.center, self.plan.spread
        return {
            "latitude": round(lat0 + self.rng.uniform(-dlat, dlat), 6),
            "longitude": round(lon0 + self.rng.uniform(-dlon, dlon), 6),
        }

    def sign_in(self, give_up_at: float) -> str | None:
        body = {"email": self.email, "password": self.plan.password}
        try:
            while time.time() < give_up_at:
                status, data = self.call("token", "POST", "/api/auth/token/", body)
                if status == 200:
                    return data["token"]
                time.sleep(1.0)
            return None
        finally:
            self.close()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def journey(self, acks: list, finish_by: float) -> None:
        key = uuid.uuid4().hex
        body = {"pickup": self.point(), "dropoff": self.point()}
        status, data = self.call("request", "POST", "/api/rides/", body, {"Idempotency-Key": key})
        if status != 201:
            time.sleep(0.5 if status == 503 else 0.1)
            return
        ack = {"ride": data["id"], "key": key, "rider": self.email, "completed": False}
        acks.append(ack)
        path = f"/api/rides/{data['id']}/"
        if not self.board_when_arrived(path, data, finish_by, ack):
            return
        while time.time() < finish_by:
            status, data = self.call("complete", "POST", path + "complete/")
            if status == 200:
                ack.update(completed=True, payment=data.get("payment"))
                return
            if status == 409:  # completed by an earlier try whose answer was lost
                ack.update(completed=True, payment=None, conflict=True)
                return
            time.sleep(0.5)

    def board_when_arrived(self, path: str, ride: dict, finish_by: float, ack: dict) -> bool:
        """Poll the ride until the unicorn is at the pickup, then board (as the page does).
        False if the ride ended otherwise (expired, cancelled) or time ran out."""
        while time.time() < finish_by:
            if ride.get("status") == "arrived":
                status, answer = self.call("board", "POST", path + "board/")
                if status == 200:
                    return True
                if status != 409:
                    time.sleep(0.5)
                    continue
            elif ride.get("status") == "in_progress":
                return True  # boarded by an earlier try whose answer was lost
            elif ride.get("status") not in (None, "assigned"):
                ack["ended"] = ride["status"]
                return False
            else:
                time.sleep(min(POLL_S, max(0.05, ride.get("eta_seconds") or 0)))
            status, answer = self.call("poll", "GET", path)
            ride = answer if status == 200 else {}
        return False

    def ride_until(self, start_at: float, end_at: float, acks: list) -> None:
        time.sleep(max(0.0, start_at - time.time()))
        try:
            while time.time() < end_at:
                self.journey(acks, finish_by=end_at + FINISH_GRACE_S)
        finally:
            self.close()


class _Recorder:
    def __init__(self, t0: float):
        self.t0, self.samples, self.lock = t0, [], threading.Lock()

    def __call__(self, step, started, latency, status, note=""):
        with self.lock:
            self.samples.append((step, started - self.t0, latency, status, note))


def sign_in_all(plan: Plan) -> dict:
    """Every rider signs in at the same moment; returns the tokens and the samples."""
    _check_loopback(plan.base_url)
    t0 = time.time()
    record, tokens = _Recorder(t0), {}

    def sign_in(email):
        rng = random.Random(email)  # noqa: S311 (test data)
        tokens[email] = Rider(plan, email, rng, record).sign_in(t0 + SIGN_IN_DEADLINE_S)

    threads = [threading.Thread(target=sign_in, args=(e,), daemon=True) for e in plan.emails]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SIGN_IN_DEADLINE_S + REQUEST_TIMEOUT_S)
    samples = record.samples
    return {
        "tokens": {email: token for email, token in tokens.items() if token},
        "samples": samples,
        "span_s": max((s[1] + s[2] for s in samples), default=0.0),
    }


def _process_main(plan: Plan, tokens: dict, t0: float, queue) -> None:
    record, acks, threads = _Recorder(t0), [], []
    for email, token in tokens.items():
        rng = random.Random(f"{plan.seed}:{email}")  # noqa: S311 (test data)
        rider = Rider(plan, email, rng, record, token=token)
        thread = threading.Thread(
            target=rider.ride_until, args=(t0, t0 + plan.duration_s, acks), daemon=True
        )
        threads.append(thread)
        thread.start()
    for thread in threads:
        thread.join(timeout=plan.duration_s + FINISH_GRACE_S + REQUEST_TIMEOUT_S * RETRIES)
    queue.put(
        {"samples": record.samples, "acks": acks, "stuck": sum(t.is_alive() for t in threads)}
    )


def run(plan: Plan, tokens: dict) -> dict:
    """Ride for the plan's duration; returns every sample and acknowledgement, and the span."""
    _check_loopback(plan.base_url)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    t0 = time.time() + 0.5
    emails = sorted(tokens)
    groups = [emails[p :: plan.processes] for p in range(plan.processes)]
    workers = [
        context.Process(
            target=_process_main, args=(plan, {e: tokens[e] for e in g}, t0, queue), daemon=True
        )
        for g in groups
        if g
    ]
    for worker in workers:
        worker.start()
    results = [queue.get() for _ in workers]
    for worker in workers:
        worker.join(timeout=10)
    samples = [s for r in results for s in r["samples"]]
    acks = [a for r in results for a in r["acks"]]
    span = max((s[1] + s[2] for s in samples), default=0.0)
    return {
        "samples": samples,
        "acks": acks,
        "span_s": span,
        "stuck_riders": sum(r["stuck"] for r in results),
    }
