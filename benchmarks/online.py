"""Online charging under load, through the real front doors: ``python -m benchmarks.online``.

Starts the real servers on loopback against a throwaway PostgreSQL database (``test_<name>``,
migrated, dropped afterwards):

- HTTP: gunicorn (``--http-workers`` processes of ``--http-threads`` threads, the project's WSGI
  app) serving the Nchf door
  (``/nchf-convergedcharging/v3/chargingdata``), a host network's bearer token;
- Diameter: ``manage.py diameter_gy``, the Gy door, with ``--peers`` client connections (each
  its own Origin-Host, listed as a DiameterPeer).

Each door is measured for each of ``--designs``: ``old``, the ORM path of the charging service
(about 23 queries a request), and ``new``, its two-call hot path (charging.online.onetrip: lock
and read in one PL/pgSQL call, rate in Python, write in one call), on the same world, one after
the other.

``--sessions`` concurrent sessions (one prepaid subscriber each, with a data allowance and a
balance) run initiate / update / terminate cycles, open-loop: requests are due at a fixed
offered rate, spread over the sessions in turn; a session sends its next request when it is due
or, if its previous answer came late, as soon as it comes (the delay counts in the latency:
latency is measured from the time the request was due, so a slow server cannot hide it). The
rate steps up (``--rates``), ``--seconds`` per step; per step it prints the requests/s achieved,
p50/p95/p99 latency and errors, then the highest rate held (achieved >= 95 % of offered, no
error) with p99 under 25 ms, and after each door the overdraft check of the ledger: no balance
or bucket below zero, every reservation closed with granted = committed + released.
The machine's load (``os.getloadavg``) is printed beside the figures: the machine is shared.
Ends with ``RESULT {json}``. Targets (issue 16): 1,000 requests/s with p99 < 25 ms at 64
concurrent sessions over HTTP, and the same over Diameter, on two cores.
"""

import argparse
import asyncio
import datetime as dt
import json
import os
import socket
import statistics
import struct
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from benchmarks.common import print_result, setup_django

ROOT = Path(__file__).resolve().parents[1]
P99_TARGET_MS = 25.0
TARGET_RATE = 1_000
MSISDN_BASE = 4915170000000
IMSI_BASE = 262037000000000
MB = 1_000_000
REALM = "bench.example"
PATH = "/nchf-convergedcharging/v3/chargingdata"
# A cycle: initiate (10 MB asked), update (10 MB used, 10 MB more), terminate (5 MB used).
CYCLE = ("initiate", "update", "terminate")


# --- the world ----------------------------------------------------------------------------------


def load_world(sessions: int, peers: int) -> dict:
    """The golden catalogue, a prepaid plan with 1 GB of data, one subscriber per session."""
    from django.conf import settings

    from catalog import services as catalog_services
    from catalog.document import catalog_import, document_load
    from catalog.models import Brand, HostNetwork, RateCard, TaxCategory, TaxRegion
    from charging.online.models import DiameterPeer
    from charging.online.services import charging_client_create
    from core.periods import local_midnight
    from subscribers import services as subscriber_services
    from subscribers.demo import iccid_for

    example = Path(settings.BASE_DIR) / "catalog" / "examples" / "golden-october.yaml"
    catalog_import(document=document_load(example.read_bytes(), format="yaml"))
    brand = Brand.objects.get(code="LOREM")
    network = HostNetwork.objects.get()
    start = local_midnight(dt.date(2026, 10, 1), "Europe/Berlin")
    plan = catalog_services.plan_save(code="BENCH-PRE", name="Bench prepaid", brand=brand,
                                      payment_model="prepaid", currency="EUR")  # fmt: skip
    version = catalog_services.plan_version_create(plan=plan, data={
        "effective_from": start, "rate_card": RateCard.objects.get(kind="retail"),
        "recurring_fee": Decimal("0.00"), "tax_category": TaxCategory.objects.get()})  # fmt: skip
    catalog_services.allowance_save(owner=version, data={
        "name": "Data 1 GB", "services": ["DATA"], "quantity": 1, "unit": "GB"})  # fmt: skip
    catalog_services.plan_version_publish(version=version)
    region = TaxRegion.objects.get(code="DE")
    imsis = [str(IMSI_BASE + i) for i in range(sessions)]
    batch = subscriber_services.sim_batch_load(
        reference="BENCH-ONLINE", host_network=network,
        csv_text="iccid,imsi\n" + "".join(f"{iccid_for(i)},{i}\n" for i in imsis),
    )  # fmt: skip
    sims = {sim.imsi: sim for sim in batch.sims.all()}
    msisdns = []
    for i, imsi in enumerate(imsis):
        customer = subscriber_services.customer_save(data={
            "brand": brand, "kind": "person", "first_name": "Bench", "last_name": f"S{i}",
            "country": "DE"})  # fmt: skip
        account = subscriber_services.billing_account_save(customer=customer, data={
            "name": f"Bench {i}", "currency": "EUR", "timezone": "Europe/Berlin",
            "bill_cycle_day": 1, "payment_terms_days": 14, "tax_region": region,
            "payment_model": "prepaid", "credit_limit": Decimal("0")})  # fmt: skip
        subscriber_services.top_up(billing_account=account, amount=Decimal("50.00"),
                                   channel="console", reference=f"BENCH-{i}")  # fmt: skip
        msisdn = str(MSISDN_BASE + i)
        subscription = subscriber_services.subscription_create(
            billing_account=account, plan=plan, msisdn=msisdn, sim=sims[imsi],
            created_at=start - dt.timedelta(days=1),
        )  # fmt: skip
        subscriber_services.subscription_activate(subscription=subscription, effective_at=start)
        msisdns.append(msisdn)
    _client, token = charging_client_create(host_network=network, name="bench")
    origin_hosts = [f"pgw{i}.{REALM}" for i in range(peers)]
    for origin in origin_hosts:
        DiameterPeer.objects.create(host_network=network, origin_host=origin, origin_realm=REALM)
    return {"msisdns": msisdns, "token": token, "origin_hosts": origin_hosts}


def overdraft_check() -> dict:
    """The ledger after the run: nothing negative, granted = committed + released (R21)."""
    from django.db.models import F, Sum

    from charging.online.models import Reservation
    from subscribers.models import BalanceMovement, Bucket, BucketMovement

    balances = BalanceMovement.objects.values("billing_account").annotate(total=Sum("amount"))
    negative_balances = sum(1 for row in balances if row["total"] < 0)
    moved = dict(
        BucketMovement.objects.values("bucket")
        .annotate(t=Sum("quantity"))
        .values_list("bucket", "t")
    )
    negative_buckets = sum(
        1 for bucket in Bucket.objects.all() if bucket.initial + (moved.get(bucket.pk) or 0) < 0
    )
    closed = Reservation.objects.exclude(status="held")
    unbalanced = closed.exclude(amount=F("committed_amount") + F("released_amount")).count()
    totals = closed.aggregate(granted=Sum("amount"), committed=Sum("committed_amount"),
                              released=Sum("released_amount"))  # fmt: skip
    granted = totals["granted"] or Decimal(0)
    committed = totals["committed"] or Decimal(0)
    released = totals["released"] or Decimal(0)
    return {
        "negative_balances": negative_balances,
        "negative_buckets": negative_buckets,
        "reservations_closed": closed.count(),
        "reservations_held": Reservation.objects.filter(status="held").count(),
        "unbalanced_reservations": unbalanced,
        "granted": str(granted),
        "committed": str(committed),
        "released": str(released),
        "ok": negative_balances == 0
        and negative_buckets == 0
        and unbalanced == 0
        and granted == committed + released,
    }


# --- servers ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# The designs measured side by side: the ORM path (about 23 queries a request) and the hot
# path of charging.online.onetrip (lock-and-read, rate, write: two calls a request).
DESIGNS = {
    "old": {"ONLINE_ONE_TRIP": "0", "ONLINE_CLIENT_CACHE_SECONDS": "0"},
    "new": {"ONLINE_ONE_TRIP": "1", "ONLINE_CLIENT_CACHE_SECONDS": "10"},
}


def server_env(database_name: str) -> dict:
    from django.db import connection

    settings = connection.settings_dict
    url = (f"postgres://{settings['USER']}:{settings['PASSWORD'] or ''}@{settings['HOST']}:"
           f"{settings['PORT'] or 5432}/{database_name}")  # fmt: skip
    env = dict(os.environ)
    env.update({"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "billing_site.settings.local",
                "DEBUG": "0", "DB_CONN_MAX_AGE": "600"})  # fmt: skip
    return env


def server_log(door: str):
    """The server's output goes to a file, never to a pipe nobody reads (a full pipe blocks)."""
    import tempfile

    return tempfile.NamedTemporaryFile(prefix=f"online-bench-{door}-", suffix=".log", delete=False)


def wait_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = Path(process.args_log).read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the server exited: {log}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port} after {timeout} s")


def start_http(env: dict, port: int, workers: int, threads: int = 4) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "billing_site.wsgi:application",
               "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
               "--worker-class", "gthread", "--threads", str(threads), "--keep-alive", "75",
               "--backlog", "512", "--timeout", "120", "--log-level", "warning"]  # fmt: skip
    log = server_log("http")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=log, stdout=log)
    process.args_log = log.name
    wait_port(port, process)
    return process


def start_gy(env: dict, port: int, workers: int) -> subprocess.Popen:
    command = [sys.executable, "manage.py", "diameter_gy", "--port", str(port),
               "--workers", str(workers)]  # fmt: skip
    log = server_log("gy")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=log, stdout=log)
    process.args_log = log.name
    wait_port(port, process)
    return process


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log = Path(process.args_log)
    failures = [line for line in log.read_text(errors="replace").splitlines()
                if "ERROR" in line or "Error" in line]  # fmt: skip
    for line in failures[-5:]:
        print(f"  server: {line[:300]}")
    log.unlink(missing_ok=True)


# --- the two kinds of client --------------------------------------------------------------------


class HttpSession:
    """One keep-alive HTTP/1.1 connection carrying one session's cycles (Nchf)."""

    def __init__(self, port: int, token: str, msisdn: str, tag: str) -> None:
        self.port, self.token, self.msisdn, self.tag = port, token, msisdn, tag
        self.step, self.cycle, self.reference, self.last_error = 0, 0, "", ""

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def _post(self, path: str, body: dict) -> tuple[int, dict, bytes]:
        data = json.dumps(body).encode()
        self.writer.write(
            (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
             f"Authorization: Bearer {self.token}\r\nContent-Length: {len(data)}\r\n\r\n"
             ).encode() + data
        )  # fmt: skip
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        payload = await self.reader.readexactly(length) if length else b""
        return status, headers, payload

    async def next_request(self) -> bool:
        """Send the session's next request; return whether it was answered as expected."""
        kind = CYCLE[self.step]
        if kind == "initiate":
            self.cycle += 1
            body = {"subscriberIdentifier": f"msisdn-{self.msisdn}",
                    "invocationSequenceNumber": 0, "chargingId": f"{self.tag}-{self.cycle}",
                    "multipleUnitUsage": [{"ratingGroup": 10,
                                           "requestedUnit": {"totalVolume": 10 * MB}}]}  # fmt: skip
            status, headers, payload = await self._post(PATH, body)
            ok = status == 201
            self.reference = headers.get("location", "").rsplit("/", 1)[-1]
        elif kind == "update":
            body = {"invocationSequenceNumber": 1, "multipleUnitUsage": [{
                "ratingGroup": 10, "requestedUnit": {"totalVolume": 10 * MB},
                "usedUnitContainer": [{"totalVolume": 10 * MB}]}]}  # fmt: skip
            status, _, payload = await self._post(f"{PATH}/{self.reference}/update", body)
            ok = status == 200
        else:
            body = {"invocationSequenceNumber": 2, "multipleUnitUsage": [{
                "ratingGroup": 10, "usedUnitContainer": [{"totalVolume": 5 * MB}]}]}  # fmt: skip
            status, _, payload = await self._post(f"{PATH}/{self.reference}/release", body)
            ok = status == 204
        if not ok:
            cause = json.loads(payload or b"{}").get("cause", "") if status >= 400 else ""
            self.last_error = f"{kind} HTTP {status} {cause}".strip()
        self.step = (self.step + 1) % len(CYCLE) if ok or kind != "initiate" else 0
        return ok

    async def reset(self) -> None:
        self.writer.close()
        await self.open()

    async def close(self) -> None:
        self.writer.close()


class GyConnection:
    """One Diameter connection (a peer) multiplexing many sessions, answers matched by id."""

    def __init__(self, port: int, origin_host: str) -> None:
        self.port, self.origin_host = port, origin_host
        self.waiting: dict[int, asyncio.Future] = {}
        self.next_id = 1

    async def open(self) -> None:
        from diameter.message import constants as c
        from diameter.message.commands import CapabilitiesExchangeRequest

        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.reading = asyncio.create_task(self._read())
        cer = CapabilitiesExchangeRequest()
        cer.origin_host = self.origin_host.encode()
        cer.origin_realm = REALM.encode()
        cer.host_ip_address = ["127.0.0.1"]
        cer.vendor_id = 0
        cer.product_name = "benchmark"
        cer.auth_application_id = [c.APP_DIAMETER_CREDIT_CONTROL_APPLICATION]
        cea = await self.send(cer)
        if cea.result_code != 2001:
            raise RuntimeError(f"CER refused: {cea.result_code}")

    async def _read(self) -> None:
        from diameter.message import Message

        try:
            while True:
                head = await self.reader.readexactly(4)
                length = struct.unpack("!I", b"\0" + head[1:4])[0]
                message = Message.from_bytes(head + await self.reader.readexactly(length - 4))
                if message.header.is_request:  # a watchdog from the server
                    answer = message.to_answer()
                    answer.result_code = 2001
                    answer.origin_host = self.origin_host.encode()
                    answer.origin_realm = REALM.encode()
                    self.writer.write(answer.as_bytes())
                    continue
                future = self.waiting.pop(message.header.hop_by_hop_identifier, None)
                if future is not None and not future.done():
                    future.set_result(message)
        except (asyncio.IncompleteReadError, ConnectionError):
            for future in self.waiting.values():
                if not future.done():
                    future.set_exception(ConnectionError("the Gy server went away"))

    async def send(self, message):
        identifier = self.next_id
        self.next_id += 1
        message.header.hop_by_hop_identifier = identifier
        message.header.end_to_end_identifier = identifier
        future = asyncio.get_running_loop().create_future()
        self.waiting[identifier] = future
        self.writer.write(message.as_bytes())
        return await future

    async def close(self) -> None:
        self.reading.cancel()
        self.writer.close()


class GySession:
    """One Gy session's cycles over a shared peer connection."""

    def __init__(self, connection: GyConnection, msisdn: str, tag: str) -> None:
        self.connection, self.msisdn, self.tag = connection, msisdn, tag
        self.step, self.cycle, self.last_error = 0, 0, ""

    async def open(self) -> None:
        return None

    async def next_request(self) -> bool:
        from charging.online.gy_client import credit_control_request

        kind = CYCLE[self.step]
        if kind == "initiate":
            self.cycle += 1
        units = {"initiate": {"requested": 10 * MB},
                 "update": {"requested": 10 * MB, "used": 10 * MB},
                 "terminate": {"used": 5 * MB}}[kind]  # fmt: skip
        request = credit_control_request(
            session_id=f"{self.connection.origin_host};{self.tag};{self.cycle}",
            origin_host=self.connection.origin_host, origin_realm=REALM,
            destination_realm="billing.local", request_type=self.step + 1, number=self.step,
            msisdn=self.msisdn, rating_group=10, **units,
        )  # fmt: skip
        answer = await self.connection.send(request)
        ok = answer.result_code == 2001
        if not ok:
            self.last_error = f"{kind} Result-Code {answer.result_code}"
        self.step = (self.step + 1) % len(CYCLE) if ok or kind != "initiate" else 0
        return ok

    async def reset(self) -> None:
        return None  # answers are matched by Hop-by-Hop id: a late one is dropped

    async def close(self) -> None:
        return None


# --- the open-loop driver -----------------------------------------------------------------------


async def run_step(sessions: list, rate: float, seconds: float) -> dict:
    """Offer ``rate`` requests/s for ``seconds``; request i is due at i/rate, on session i % n."""
    total = max(1, int(rate * seconds))
    count = len(sessions)
    latencies: list[float] = []
    errors = 0
    kinds: dict[str, int] = {}
    start = time.perf_counter() + 0.05

    async def drive(index: int) -> None:
        nonlocal errors
        session = sessions[index]
        for i in range(index, total, count):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                ok = await asyncio.wait_for(session.next_request(), timeout=30)
            except (TimeoutError, ConnectionError, asyncio.IncompleteReadError) as error:
                ok, session.last_error = False, type(error).__name__
                await session.reset()  # a late answer must not be read as the next one
            latencies.append(time.perf_counter() - due)
            if not ok:
                errors += 1
                kinds[session.last_error] = kinds.get(session.last_error, 0) + 1

    await asyncio.gather(*(drive(i) for i in range(count)))
    elapsed = time.perf_counter() - start
    ordered = sorted(latencies)

    def percentile(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    return {
        "offered": rate,
        "requests": len(latencies),
        "achieved": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(0.50), 2),
        "p95_ms": round(percentile(0.95), 2),
        "p99_ms": round(percentile(0.99), 2),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
        "errors": errors,
        "error_kinds": kinds,
        "load": [round(x, 2) for x in os.getloadavg()],
    }


def held(step: dict) -> bool:
    return (step["achieved"] >= 0.95 * step["offered"] and step["errors"] == 0
            and step["p99_ms"] < P99_TARGET_MS)  # fmt: skip


async def run_door(door: str, *, port: int, world: dict, sessions: int, rates, seconds) -> list:
    tag = f"{door}{os.getpid()}"
    if door == "http":
        clients = [HttpSession(port, world["token"], msisdn, f"{tag}-{i}")
                   for i, msisdn in enumerate(world["msisdns"][:sessions])]  # fmt: skip
        connections = []
    else:
        connections = [GyConnection(port, origin) for origin in world["origin_hosts"]]
        for connection in connections:
            await connection.open()
        clients = [GySession(connections[i % len(connections)], msisdn, f"{tag}-{i}")
                   for i, msisdn in enumerate(world["msisdns"][:sessions])]  # fmt: skip
    for client in clients:
        await client.open()
    steps = []
    try:
        # Warm up, closed-loop: every session runs one cycle (connections, caches, grants).
        async def warm(client) -> None:
            for _ in CYCLE:
                await client.next_request()

        await asyncio.gather(*(warm(client) for client in clients))
        for rate in rates:
            step = await run_step(clients, rate=rate, seconds=seconds)
            step["door"] = door
            steps.append(step)
            kinds = step["error_kinds"] or ""
            print(f"{door:5} offered {rate:6.0f}/s  achieved {step['achieved']:7.1f}/s  "
                  f"p50 {step['p50_ms']:7.2f} ms  p95 {step['p95_ms']:7.2f} ms  "
                  f"p99 {step['p99_ms']:8.2f} ms  errors {step['errors']} {kinds}  "
                  f"load {step['load'][0]:.2f}", flush=True)  # fmt: skip
            if step["p99_ms"] > 2000 or step["achieved"] < 0.5 * rate:
                break  # far past saturation: the next step tells nothing more
        # Finish every open session so that nothing stays held for the ledger check.
        for client in clients:
            while client.step:
                await client.next_request()
    finally:
        for client in clients:
            await client.close()
        for connection in connections:
            await connection.close()
    return steps


def run(*, doors, designs, sessions: int, rates, seconds: float, http_workers: int,
        http_threads: int, gy_workers: int, peers: int, database_name: str) -> dict:  # fmt: skip
    world = load_world(sessions, peers)
    base_env = server_env(database_name)
    figures = {"benchmark": "online", "sessions": sessions, "rates": list(rates),
               "seconds_per_step": seconds, "http_workers": http_workers,
               "http_threads": http_threads, "gy_workers": gy_workers, "gy_peers": peers,
               "cpus": os.cpu_count(), "designs": list(designs),
               "target_rate": TARGET_RATE, "target_p99_ms": P99_TARGET_MS}  # fmt: skip
    print(f"{sessions} concurrent sessions, {seconds} s a step, {os.cpu_count()} CPUs, "
          f"load before: {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
    for design in designs:
        env = {**base_env, **DESIGNS[design]}
        for door in doors:
            run_one(figures, design=design, door=door, env=env, world=world, sessions=sessions,
                    rates=rates, seconds=seconds, http_workers=http_workers,
                    http_threads=http_threads, gy_workers=gy_workers)  # fmt: skip
    return figures


def run_one(figures, *, design, door, env, world, sessions, rates, seconds, http_workers,
            http_threads, gy_workers) -> None:  # fmt: skip
    """Measure one design through one door; add its figures under ``design/door``."""
    print(f"-- design {design}, door {door}", flush=True)
    port = free_port()
    if door == "http":
        process = start_http(env, port, http_workers, http_threads)
    else:
        process = start_gy(env, port, gy_workers)
    try:
        steps = asyncio.run(run_door(door, port=port, world=world, sessions=sessions,
                                     rates=rates, seconds=seconds))  # fmt: skip
    finally:
        stop(process)
    best = max((s["offered"] for s in steps if held(s)), default=0)
    check = overdraft_check()
    figures[f"{design}/{door}"] = {"steps": steps, "highest_rate_held": best, "overdraft": check,
                                   "meets_target": best >= TARGET_RATE and check["ok"]}  # fmt: skip
    door = f"{design}/{door}"
    print(f"{door}: highest rate held with p99 < {P99_TARGET_MS:.0f} ms: {best}/s "
          f"(target {TARGET_RATE}/s)")  # fmt: skip
    print(f"{door}: overdraft check {'OK' if check['ok'] else 'FAILED'}: "
          f"{check['negative_balances']} negative balances, {check['negative_buckets']} "
          f"negative buckets, {check['reservations_closed']} reservations closed, "
          f"{check['reservations_held']} held; granted {check['granted']} = committed "
          f"{check['committed']} + released {check['released']}", flush=True)  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.online",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--door", choices=("http", "diameter", "both"), default="both")
    parser.add_argument("--sessions", type=int, default=64)
    parser.add_argument("--rates", default="100,200,400,600,800,1000,1200",
                        help="offered requests/s, step by step")  # fmt: skip
    parser.add_argument("--seconds", type=float, default=5.0, help="length of a step")
    parser.add_argument("--designs", default="old,new",
                        help="old (ORM path), new (two calls a request), or both")  # fmt: skip
    parser.add_argument("--http-workers", type=int, default=4, help="gunicorn processes")
    parser.add_argument("--http-threads", type=int, default=4, help="threads a process")
    parser.add_argument("--gy-workers", type=int, default=8, help="Gy server threads")
    parser.add_argument("--peers", type=int, default=4, help="Diameter connections")
    options = parser.parse_args(argv)
    rates = [float(r) for r in options.rates.split(",") if r.strip()]
    doors = ("http", "diameter") if options.door == "both" else (options.door,)
    setup_django()
    from django.db import connections
    from django.test.utils import setup_databases, teardown_databases

    database = connections["default"].settings_dict
    if not database["ENGINE"].endswith("postgresql"):
        raise SystemExit("the online benchmark needs PostgreSQL (DATABASE_URL)")
    # A throwaway database of its own, beside any test database of the same name.
    database["TEST"]["NAME"] = f"test_{database['NAME']}_online_{os.getpid()}"
    databases = setup_databases(
        verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set()
    )
    try:
        designs = [d for d in options.designs.split(",") if d.strip()]
        unknown = set(designs) - set(DESIGNS)
        if unknown:
            raise SystemExit(f"unknown design(s): {', '.join(sorted(unknown))}")
        figures = run(doors=doors, designs=designs, sessions=options.sessions, rates=rates,
                      seconds=options.seconds, http_workers=options.http_workers,
                      http_threads=options.http_threads,
                      gy_workers=options.gy_workers, peers=options.peers,
                      database_name=connections["default"].settings_dict["NAME"])  # fmt: skip
    finally:
        connections.close_all()
        teardown_databases(databases, verbosity=0)
    print_result(figures)
    return figures


if __name__ == "__main__":
    main()
