#!/usr/bin/env python3
"""Call-logging benchmark: 1,000 calls ending within a minute across three address books, nothing lost or doubled.

    python bench/calls_bench.py            # 1,000 calls over 60 s, and the bursts (about 2 minutes)
    python bench/calls_bench.py --quick    # 200 calls over 12 s, for a smoke check
    python bench/calls_bench.py --write    # also rewrite the figures in docs/performance.md
    python bench/calls_bench.py --real     # the three books are real Tryton, real BottleCRM and the local book

The daemon is the real `create_app`, served by aiohttp's `AppRunner`/`TCPSite`
on 127.0.0.1 in this process, in a temporary PARTNERCRMD_HOME, with its
sample book replaced by three local address books (embedded SQLite) that log
calls at their end. Each holds a third of N people, numbered +44 20 7946 0000
onwards (Ofcom's drama range). Every call is one `POST /api/v1/CallEvent`
with State=Ended for one of those people, so the daemon matches the number in
all three books, queues one outbox entry for the book that has the person and
writes the activity.

1. Baseline: the same N activities written straight through the books'
   connectors (`log_activity`), one after the other: what a write costs with
   no outbox, no HTTP, no matching, no durability of the queue.
2. Burst: all N calls posted at once (16 concurrent clients) with the per-book
   rate limit lifted; the outbox's throughput is compared with the baseline.
3. Paced: N calls spread evenly over the minute (the acceptance scenario) with
   the default outbox policy (10 writes/s per book); the outbox latency is the
   time from the CallEvent's answer to the entry being marked done.

After each run every book's activities are read back from where they are
kept (the local books' SQLite files; with --real, Tryton's notes over
JSON-RPC and BottleCRM's interactions API): each call must be there exactly
once (its reference marker), or the script exits 1 and writes nothing.

With --real, Tryton and BottleCRM are the seeded servers of
tests/backend_servers.py (started on 127.0.0.1, stopped by PID at the end),
and the people are numbered +44 161 496 0000 onwards (another drama range, so
none of them is a seeded test person).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from benchlib import DOC, BenchError, percentile, write_section

from partnercrmd import appkeys
from partnercrmd.app import create_app
from partnercrmd.books import DEFAULT_BOOK_ID, remove_book
from partnercrmd.call_log.outbox_worker import OutboxPolicy
from partnercrmd.call_log.store import DONE
from partnercrmd.config import DaemonConfig
from partnercrmd.local_book.addin import DATABASE_NAME
from partnercrmd.model import Activity, CallDirection, Contact, Phone, PhoneKind
from partnercrmd.paths import Paths
from partnercrmd.search import SearchRequest
from partnercrmd.testing import configure_book
from partnercrmd.vault_sync import reload_vault

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: the repository's `tests` package holds the server helpers
    sys.path.insert(0, str(REPO))

BEGIN_MARK = "<!-- calls:begin -->"
END_MARK = "<!-- calls:end -->"
REAL_BEGIN_MARK = "<!-- calls-real:begin -->"
REAL_END_MARK = "<!-- calls-real:end -->"
BOOKS = 3
CLIENTS = 16


LOCAL_NUMBERS = "+44 20 7946 {:04d}"
REAL_NUMBERS = "+44 161 496 {:04d}"


class RealCrms:
    """Real Tryton and BottleCRM (tests/backend_servers.py), each holding every third person of the run."""

    def __init__(self, root: Path, people: int) -> None:
        from tests.backend_servers import run_parallel, start_backend

        self.backends = run_parallel(
            {kind: functools.partial(start_backend, kind, root / kind) for kind in ("tryton", "bottlecrm")}
        )
        self.bottlecrm_ids: list[str] = []
        tryton = self.backends["tryton"].server.admin()
        parties = [
            {
                "name": f"Person {i}",
                "contact_mechanisms": [["create", [{"type": "phone", "value": REAL_NUMBERS.format(i)}]]],
            }
            for i in range(0, people, BOOKS)
        ]
        for start in range(0, len(parties), 200):
            tryton.call("model.party.party.create", parties[start : start + 200])
        api = self.backends["bottlecrm"].server.api()
        for i in range(1, people, BOOKS):
            self.bottlecrm_ids.append(
                api.create_contact(first_name="Person", last_name=str(i), phone=REAL_NUMBERS.format(i))
            )

    def settings(self, kind: str) -> dict[str, Any]:
        return dict(self.backends[kind].settings)

    def bodies(self, kind: str) -> list[str]:
        """The text of every activity the server holds (Tryton: party notes; BottleCRM: each person's interactions)."""
        if kind == "tryton":
            notes = (
                self.backends["tryton"]
                .server.admin()
                .call("model.ir.note.search_read", [("resource", "like", "party.party,%")], 0, None, None, ["message"])
            )
            return [str(n["message"]) for n in notes]
        api = self.backends["bottlecrm"].server.api()
        bodies: list[str] = []
        for contact_id in self.bottlecrm_ids:
            status, answer = api.call("GET", f"/api/interactions/?contact={contact_id}&limit=200")
            if status != 200:
                raise BenchError(f"BottleCRM answered {status} listing interactions")
            bodies += [f"{row.get('subject', '')}\n{row.get('body', '')}" for row in answer["interactions"]]
        return bodies

    def close(self) -> None:
        from tests.backend_servers import close_all

        close_all(self.backends.values())


class Bench:
    """One daemon in a temporary home with three books of N/3 people each (local ones, or Tryton, BottleCRM, local)."""

    def __init__(self, home: Path, people: int, policy: OutboxPolicy, crms: RealCrms | None = None) -> None:
        self.home = home
        self.people = people
        self.policy = policy
        self.crms = crms
        self.kinds = ("tryton", "bottlecrm", "local") if crms else ("local",) * BOOKS
        self.pattern = REAL_NUMBERS if crms else LOCAL_NUMBERS
        self.app: web.Application | None = None
        self.runner: web.AppRunner | None = None
        self.port = 0
        self.books: list[str] = []
        self.app_id = str(uuid.uuid4())

    async def __aenter__(self) -> Bench:
        os.environ["PARTNERCRMD_KEYRING"] = "0"
        config = DaemonConfig(paths=Paths.under(self.home), port=0, region="GB")
        app = self.app = create_app(config)
        app[appkeys.OUTBOX_POLICY] = self.policy
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]
        config.port = self.port
        await asyncio.to_thread(remove_book, app[appkeys.VAULT], DEFAULT_BOOK_ID)
        await reload_vault(app)
        for b, kind in enumerate(self.kinds):
            settings = self.crms.settings(kind) if self.crms and kind != "local" else {}
            book_id = await configure_book(
                app, kind, name=f"Book {b + 1}", create_activity_on_call_end=True, **settings
            )
            self.books.append(book_id)
        for b, book_id in enumerate(self.books):
            if self.kinds[b] != "local":
                continue
            connector = app[appkeys.BOOKS].get(book_id).connector
            assert connector is not None
            for i in range(b, self.people, BOOKS):
                await connector.create(
                    Contact(display_name=f"Person {i}", phones=[Phone(self.number(i), PhoneKind.BUSINESS)])
                )
        await self.warm_up()
        token = app[appkeys.INSTALL_TOKEN].value
        async with aiohttp.ClientSession() as session:
            response = await session.post(
                self.url("Register"),
                data={"Name": "calls bench", "Id": self.app_id},
                headers={"Authorization": f"Bearer {token}"},
            )
            if response.status != 204:
                raise BenchError(f"Register answered {response.status}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    def number(self, i: int) -> str:
        return self.pattern.format(i)

    async def warm_up(self) -> None:
        """Wait until every book finds every one of its people (some add-ins build a number index after start)."""
        assert self.app is not None
        engine = self.app[appkeys.SEARCH]
        deadline = time.monotonic() + 300
        missing = list(range(self.people))
        while missing:
            still = []
            for i in missing:
                book = self.app[appkeys.BOOKS].get(self.book_of(i))
                (result,) = await engine.search(SearchRequest(text=self.number(i), deadline=10), [book])
                if not result.contacts:
                    still.append(i)
            missing = still
            if missing and time.monotonic() > deadline:
                raise BenchError(f"{len(missing)} people not found in their books, e.g. {self.number(missing[0])}")
            if missing:
                await asyncio.sleep(2)

    def url(self, route: str) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1/{route}"

    def book_of(self, i: int) -> str:
        return self.books[i % BOOKS]

    async def post_call(self, session: aiohttp.ClientSession, run: str, i: int) -> float:
        fields = {
            "CallId": f"{run}-{i}",
            "State": "Ended",
            "Direction": "Inbound",
            "CallerNumber": self.number(i),
            "CalledNumber": "201",
            "StartTimeUtc": "2026-11-25T09:00:00Z",
            "DurationSeconds": str(30 + i % 300),
        }
        async with session.post(self.url("CallEvent"), data=fields, headers={"ApplicationId": self.app_id}) as reply:
            body = await reply.json()
            # the caller's own book logs it; a book too busy to answer the match gets an entry that looks the
            # number up later (and finds nobody): that is the daemon's rule, not an error
            if reply.status != 200 or self.book_of(i) not in [e["AddinId"] for e in body["Logging"]]:
                raise BenchError(f"call {i}: {reply.status} {body}")
        return time.time()

    async def wait_done(self, run: str, calls: int, within: float) -> dict[str, float]:
        """done_at of every entry of the run, once all are done."""
        assert self.app is not None
        store = self.app[appkeys.CALLS].store
        deadline = time.monotonic() + within
        while True:
            entries = await asyncio.to_thread(store.entries, (DONE,), 100_000)
            done = {e.call_id: float(e.done_at or 0) for e in entries if e.call_id.startswith(f"{run}-")}
            if len(done) >= calls:
                return done
            if time.monotonic() > deadline:
                raise BenchError(f"{run}: only {len(done)} of {calls} calls logged within {within:g} s")
            await asyncio.sleep(0.05)

    def verify(self, run: str, calls: int) -> None:
        """Every call of the run logged exactly once, in its own book, read back from the books' SQLite files."""
        assert self.app is not None
        store = self.app[appkeys.CALLS].store
        keys = {
            (e.call_id, e.book_id): e.key for e in store.entries((DONE,), 100_000) if e.call_id.startswith(f"{run}-")
        }
        for b, book_id in enumerate(self.books):
            if self.kinds[b] == "local":
                path = Paths.under(self.home).book_dir(book_id) / DATABASE_NAME
                with sqlite3.connect(path) as db:
                    bodies = [row[0] for row in db.execute("SELECT body FROM activities")]
            else:
                assert self.crms is not None
                bodies = self.crms.bodies(self.kinds[b])
            for i in range(b, calls, BOOKS):
                marker = f"pcrmd-{keys[(f'{run}-{i}', book_id)]}"
                found = sum(1 for body in bodies if marker in body)
                if found != 1:
                    raise BenchError(f"{run}: call {i} is in {book_id} {found} times")

    async def baseline(self, calls: int) -> float:
        """Direct connector writes per second."""
        assert self.app is not None
        books = self.app[appkeys.BOOKS]
        started = time.perf_counter()
        for i in range(calls):
            connector = books.get(self.book_of(i)).connector
            assert connector is not None
            found = await connector.search(_query(self.number(i)))
            activity = Activity("Incoming call", f"baseline {i}", CallDirection.INBOUND, _start(), 30)
            await connector.log_activity(found[0].id, activity)
        return calls / (time.perf_counter() - started)


def _query(text: str) -> Any:
    from partnercrmd.model import SearchQuery
    from partnercrmd.phone import number_forms, phone_key

    key = phone_key(text, "GB")
    return SearchQuery(text=text, limit=5, number=key.e164, number_forms=number_forms(key, "GB"))


def _start() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


async def burst(bench: Bench, calls: int) -> dict[str, float]:
    run = f"burst-{uuid.uuid4().hex[:6]}"
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(calls):
        queue.put_nowait(i)
    answered: dict[str, float] = {}

    async def client(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            i = queue.get_nowait()
            answered[f"{run}-{i}"] = await bench.post_call(session, run, i)

    started = time.time()
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(client(session) for _ in range(CLIENTS)))
    posted = time.time() - started
    done = await bench.wait_done(run, calls, within=300)
    elapsed = max(done.values()) - started
    await asyncio.to_thread(bench.verify, run, calls)
    latencies = [done[k] - answered[k] for k in answered]
    return {
        "throughput": calls / elapsed,
        "posted": posted,
        "elapsed": elapsed,
        "p50": statistics.median(latencies),
        "p95": percentile(latencies, 95),
    }


async def paced(bench: Bench, calls: int, seconds: float) -> dict[str, float]:
    run = f"paced-{uuid.uuid4().hex[:6]}"
    answered: dict[str, float] = {}
    started = time.time()
    gap = seconds / calls
    async with aiohttp.ClientSession() as session:
        pending: set[asyncio.Task[None]] = set()

        async def one(i: int) -> None:
            answered[f"{run}-{i}"] = await bench.post_call(session, run, i)

        for i in range(calls):
            await asyncio.sleep(max(0.0, started + i * gap - time.time()))
            task = asyncio.create_task(one(i))
            pending.add(task)
            task.add_done_callback(pending.discard)
        for outcome in await asyncio.gather(*pending, return_exceptions=True):
            if isinstance(outcome, BaseException):
                raise outcome
    last_answer = max(answered.values())
    done = await bench.wait_done(run, calls, within=300)
    await asyncio.to_thread(bench.verify, run, calls)
    latencies = [done[k] - answered[k] for k in answered]
    return {
        "calls": calls,
        "seconds": last_answer - started,
        "p50": statistics.median(latencies),
        "p95": percentile(latencies, 95),
        "max": max(latencies),
        "drain": max(done.values()) - last_answer,
    }


async def main_async(calls: int, seconds: float, real: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="partnercrmd-calls-bench-") as tmp:
        crms = await asyncio.to_thread(RealCrms, Path(tmp) / "servers", calls) if real else None
        try:
            fast = OutboxPolicy(rate_per_second=100_000.0)
            async with Bench(Path(tmp) / "burst", calls, fast, crms) as bench:
                baseline = await bench.baseline(calls)
                burst_figures = await burst(bench, calls)
            async with Bench(Path(tmp) / "paced", calls, OutboxPolicy(), crms) as bench:
                paced_figures = await paced(bench, calls, seconds)
        finally:
            if crms is not None:
                await asyncio.to_thread(crms.close)
    return {"baseline": baseline, "burst": burst_figures, "paced": paced_figures, "real": real}


def section(results: dict[str, Any], calls: int) -> str:
    real = bool(results["real"])
    books = "Real Tryton, real BottleCRM and the local book" if real else "Three local address books"
    where = (
        "read back from Tryton's notes, BottleCRM's interactions API and the local book's SQLite file"
        if real
        else "read back from the books' SQLite files"
    )
    burst_ = results["burst"]
    paced_ = results["paced"]
    ratio = burst_["throughput"] / results["baseline"]
    return "\n".join(
        [
            f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()} with Python {platform.python_version()}, "
            f"{os.cpu_count()} CPUs; `python bench/calls_bench.py{' --real' if real else ''}`. {books}, {calls} calls, "
            "each logged in the book that has the caller; every call found exactly once in its book afterwards "
            f"({where}): nothing lost, nothing duplicated.",
            "",
            "| figure | value |",
            "|---|---|",
            "| baseline: direct connector writes (search + `log_activity`, no outbox) | "
            f"{results['baseline']:.0f} calls/s |",
            f"| burst: {calls} CallEvents at once, rate limit lifted, until all logged | "
            f"{burst_['throughput']:.0f} calls/s (**{ratio:.2f}×** the baseline) |",
            f"| burst: outbox latency, CallEvent answered → activity written, p50 / p95 | "
            f"{burst_['p50'] * 1000:.0f} / {burst_['p95'] * 1000:.0f} ms |",
            f"| paced: {paced_['calls']:.0f} calls over {paced_['seconds']:.0f} s, default policy "
            "(10 writes/s per book): outbox latency p50 / p95 / max | "
            f"{paced_['p50'] * 1000:.0f} / {paced_['p95'] * 1000:.0f} / {paced_['max'] * 1000:.0f} ms |",
            f"| paced: last activity written after the last call ended | {paced_['drain'] * 1000:.0f} ms |",
            "",
            "The burst's ratio is what the outbox costs per call over a bare write: an HTTP request, matching "
            "the number in all three books, the call and the entry stored durably, the entry claimed durably "
            "before the write and marked done after it. The paced run is the acceptance scenario: "
            + (
                "a minute's worth of calls never built up a queue (p95 under a second)."
                if paced_["p95"] < 1.0
                else f"on this machine, during this run, the queue built up for a while (p95 {paced_['p95']:.1f} s) "
                f"and had caught up {paced_['drain'] * 1000:.0f} ms after the last call; rerun on an idle machine "
                "before reading more into it."
            ),
            f"Load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs.",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="200 calls over 12 s")
    parser.add_argument("--write", action="store_true", help=f"rewrite the figures in {DOC}")
    parser.add_argument("--real", action="store_true", help="real Tryton and BottleCRM as two of the three books")
    args = parser.parse_args()
    calls, seconds = (200, 12.0) if args.quick else (1000, 60.0)
    try:
        results = asyncio.run(main_async(calls, seconds, args.real))
    except BenchError as exc:
        print(f"calls_bench: {exc}", file=sys.stderr)
        return 1
    text = section(results, calls)
    print(text)
    if args.write:
        if args.real:
            write_section(REAL_BEGIN_MARK, REAL_END_MARK, text, heading="### The same with real CRMs")
        else:
            write_section(BEGIN_MARK, END_MARK, text, heading="## Call logging (outbox)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
