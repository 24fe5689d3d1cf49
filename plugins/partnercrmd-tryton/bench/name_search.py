"""What a Tryton name search costs trytond, with and without the add-in's local name index.

Run from the repository root: `python plugins/partnercrmd-tryton/bench/name_search.py [--parties 10000]`.
It starts trytond 8.2 (SQLite) on the database bench/backends_bench.py builds and caches (10,000 parties
with a phone each; built on the first run), and runs the same name searches through the add-in's
connector twice in the same run: with `index_minutes=0` (the baseline: Tryton's `rec_name` search for
every query) and with the index (filled first). For each it reports trytond's CPU per search (from
/proc, as backends_bench.process_tree_cpu reads it) and the add-in's wall time, and their ratio to the
baseline. It also reports what filling the index costs trytond. It writes nothing but its own output.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "bench"))

import backends_bench as bb  # noqa: E402  (the repository's benchmark helpers, read-only)
from partnercrmd_tryton import TRYTON, TrytonBook  # noqa: E402
from partnercrmd_tryton.index import PAGE  # noqa: E402
from partnercrmd_tryton.mapping import PHONE_TYPES  # noqa: E402

from partnercrmd.sdk import BookContext, SearchQuery  # noqa: E402
from tests.backend_servers import Backend  # noqa: E402  (importable once backends_bench is)

ROUNDS = 3
"""Each query set is run this many times per configuration, alternating, so drift hits both alike."""


def name_queries(people: list[bb.Person], count: int) -> list[tuple[str, str]]:
    """(query, expected name) pairs: half a last name alone, half "first last" in lower case."""
    chosen = random.Random(bb.SEED + 7).sample(people, count)  # noqa: S311  (repeatable, not secret)
    return [(p.last if i % 2 else p.name.lower(), p.name) for i, p in enumerate(chosen)]


async def run_queries(book: TrytonBook, pid: int, queries: list[tuple[str, str]]) -> tuple[float, float]:
    """Mean trytond CPU seconds and mean wall seconds per search; every answer is checked."""
    cpu = wall = 0.0
    for text, expected in queries:
        before_cpu, before = bb.process_tree_cpu(pid), time.perf_counter()
        found = await book.search(SearchQuery(text, limit=20))
        wall += time.perf_counter() - before
        cpu += bb.process_tree_cpu(pid) - before_cpu
        if expected not in [c.name for c in found]:
            raise SystemExit(f"{text!r} did not find {expected!r}: {[c.name for c in found]}")
    return cpu / len(queries), wall / len(queries)


async def read_numbers_only(book: TrytonBook) -> None:
    """The reads of the number-only refresh earlier versions made: phone, mobile and fax mechanisms, paged."""
    offset = 0
    while True:
        rows = await book.client.call(
            "model.party.contact_mechanism.search_read",
            [("type", "in", sorted(PHONE_TYPES))],
            offset,
            PAGE,
            [("id", "ASC")],
            ["party", "value"],
        )
        if len(rows) < PAGE:
            return
        offset += PAGE


def open_book(settings: dict[str, Any], directory: Path) -> TrytonBook:
    directory.mkdir(parents=True, exist_ok=True)
    book = TRYTON.open(BookContext("erp", "ERP", settings, directory, "GB"))
    assert isinstance(book, TrytonBook)
    return book


async def measure(backend: Backend, people: list[bb.Person], count: int, root: Path) -> None:
    pid = bb.server_pids(backend)[0]  # trytond: one process (and its children)
    queries = name_queries(people, count)
    plain = open_book({**backend.settings, "index_minutes": 0}, root / "plain")
    indexed = open_book(backend.settings, root / "indexed")
    try:
        await plain.client.ensure_signed_in()
        await indexed.client.ensure_signed_in()
        assert indexed.index is not None
        before_cpu, before = bb.process_tree_cpu(pid), time.perf_counter()
        await read_numbers_only(indexed)
        old_wall, old_cpu = time.perf_counter() - before, bb.process_tree_cpu(pid) - before_cpu
        before_cpu, before = bb.process_tree_cpu(pid), time.perf_counter()
        counts = await indexed.index.refresh(indexed.client)
        fill_wall, fill_cpu = time.perf_counter() - before, bb.process_tree_cpu(pid) - before_cpu
        await run_queries(plain, pid, queries[:5])  # warm both (trytond's caches, the connections)
        await run_queries(indexed, pid, queries[:5])
        results: dict[str, list[tuple[float, float]]] = {"server search": [], "local index": []}
        for _ in range(ROUNDS):
            results["server search"].append(await run_queries(plain, pid, queries))
            results["local index"].append(await run_queries(indexed, pid, queries))
    finally:
        await plain.close()
        await indexed.close()
    base_cpu = statistics.median(c for c, _ in results["server search"])
    base_wall = statistics.median(w for _, w in results["server search"])
    print(f"{len(people):,} parties, {len(queries)} name searches x {ROUNDS} rounds per configuration")
    print("| name search | trytond CPU per search | ratio | add-in wall time per search | ratio |")
    print("|---|---|---|---|---|")
    for label, rows in results.items():
        cpu = statistics.median(c for c, _ in rows)
        wall = statistics.median(w for _, w in rows)
        print(
            f"| {label} | {cpu * 1000:.1f} ms | {cpu / base_cpu:.2f} | {wall * 1000:.1f} ms | {wall / base_wall:.2f} |"
        )
    print(
        f"index fill: {counts.parties:,} parties and {counts.numbers:,} numbers, "
        f"{fill_wall:.2f} s, {fill_cpu:.2f} s of trytond CPU; the numbers-only fill of earlier versions "
        f"(its reads alone, without storing): {old_wall:.2f} s, {old_cpu:.2f} s of trytond CPU"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parties", type=int, default=bb.CONTACTS)
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    people = bb.make_people(args.parties).people
    with tempfile.TemporaryDirectory(prefix="tryton-names-") as tmp:
        root = Path(tmp)
        backend = bb.seed_tryton(people, root / "tryton")
        try:
            asyncio.run(measure(backend, people, args.queries, root))
        finally:
            backend.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
