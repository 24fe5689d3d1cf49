"""Measure the LDAP add-in's number lookups with and without the local index, against a real seeded slapd.

Starts slapd (as the tests do: tests/slapd_server.py) three times: without index directives, with the
README's name-search indexes, and with those plus `index modifyTimestamp eq`. It loads `--entries`
people with three phone numbers each offline (slapadd), last changed on 2025-01-01 as most entries of a
real directory were changed long before the index fill, then times the connector's number search (the
same calls the daemon makes, in this process) for known callers and for unknown ones (the server search,
with and without the change-time bound), and reads slapd's CPU time from /proc/<pid>/stat around the
runs. Figures for the README come from:

    python plugins/partnercrmd-ldap/scripts/measure_number_index.py --entries 10000 --lookups 300

It is a quick measurement for the add-in's README, not the project's benchmark (bench/ does that).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from partnercrmd_ldap import LDAP
from partnercrmd_ldap.connector import LdapBook
from slapd_server import PAGED_SEARCH_LIMIT, SEED, SERVICE_DN, SERVICE_PASSWORD, SUFFIX, Slapd, person

from partnercrmd.sdk import BookContext, SearchQuery, phone_key

NAME_INDEXES = ("index objectClass eq", "index cn,sn,givenName,mail,o eq,sub")
CHANGE_TIME_INDEX = "index modifyTimestamp eq"
LONG_AGO = "20250101000000Z"


def number_of(n: int, kind: int) -> str:
    """A distinct UK number per person and kind, written in one of several styles."""
    digits = f"{kind}{n:06d}"
    styles = [f"+44 20 7{digits[:3]} {digits[3:]}", f"020-7{digits[:3]}-{digits[3:]}", f"(020) 7{digits}"]
    return styles[n % 3]


def seed(server: Slapd, entries: int) -> None:
    people = [
        person(
            f"Person {n:05}",
            sn=f"Surname{n:05}",
            givenName=f"Given{n:05}",
            o=f"Company {n % 97}",
            telephoneNumber=number_of(n, 1),
            mobile=number_of(n, 2),
            homePhone=number_of(n, 3),
            modifyTimestamp=LONG_AGO,
        )
        for n in range(entries)
    ]
    server.slapadd(SEED + "\n" + "\n".join(people), timeout=600)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(server: Slapd, calls: list[Callable[[], Any]]) -> tuple[float, float, float]:
    """(median ms, 95th percentile ms, slapd CPU ms per call) over `calls`."""
    assert server.process is not None
    latencies = []
    before = cpu_seconds(server.process.pid)
    for call in calls:
        started = time.perf_counter()
        call()
        latencies.append((time.perf_counter() - started) * 1000)
    cpu = (cpu_seconds(server.process.pid) - before) * 1000 / len(calls)
    latencies.sort()
    return statistics.median(latencies), latencies[int(len(latencies) * 0.95)], cpu


def open_book(server: Slapd, data_dir: Path, **overrides: Any) -> LdapBook:
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = {"url": server.url, "bind_dn": SERVICE_DN, "password": SERVICE_PASSWORD, "base_dn": SUFFIX}
    book = LDAP.open(BookContext("m", "M", {**settings, **overrides}, data_dir, "GB"))
    assert isinstance(book, LdapBook)
    return book


def number_search(book: LdapBook, text: str, expected: int = 1) -> Callable[[], Any]:
    key = phone_key(text, "GB")

    def call() -> None:
        found = book.search(SearchQuery(text, 5, number=key.e164 or key.digits))
        assert len(found) == expected, (text, found)

    return call


def name_search(book: LdapBook, text: str) -> Callable[[], Any]:
    return lambda: book.search(SearchQuery(text, 5))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--lookups", type=int, default=300)
    args = parser.parse_args()
    rng = random.Random(4711)  # noqa: S311  (repeatable test data, not security)
    queries = [number_of(rng.randrange(args.entries), rng.choice((1, 2, 3))) for _ in range(args.lookups)]
    names = [f"surname{rng.randrange(args.entries):05}" for _ in range(args.lookups // 3)]
    # Kind 4 is on nobody: the unknown callers (a third as many: each one is a server search).
    unknown = [number_of(rng.randrange(args.entries), 4) for _ in range(args.lookups // 3)]
    setups = [
        ("no index directives", ()),
        ("with " + "; ".join(NAME_INDEXES), NAME_INDEXES),
        ("with those and " + CHANGE_TIME_INDEX, (*NAME_INDEXES, CHANGE_TIME_INDEX)),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for number, (label, indexes) in enumerate(setups):
            server = Slapd(Path(tmp) / f"slapd-{number}", indexes=indexes, limits=[PAGED_SEARCH_LIMIT])
            seed(server, args.entries)
            server.start()
            try:
                print(f"slapd with {args.entries} people ({label}):")
                scan = open_book(server, Path(tmp) / f"scan-{number}", index_minutes=0)
                indexed = open_book(server, Path(tmp) / f"index-{number}")
                unbounded = open_book(server, Path(tmp) / f"unbounded-{number}", modified_attribute="")
                try:
                    for book in (indexed, unbounded):
                        assert book.index is not None
                        started = time.perf_counter()
                        count = book.index.refresh(book.index_fill)
                        print(f"  fill: {count} numbers in {time.perf_counter() - started:.2f} s")
                    assert indexed.index is not None and indexed.index.bound("modifyTimestamp") is not None
                    rows = [
                        ("number, server search (index_minutes=0)", [number_search(scan, q) for q in queries]),
                        ("number, local index", [number_search(indexed, q) for q in queries]),
                        (
                            "unknown number, server search (index_minutes=0)",
                            [number_search(scan, q, 0) for q in unknown],
                        ),
                        (
                            "unknown number, local index, unbounded (modified_attribute empty)",
                            [number_search(unbounded, q, 0) for q in unknown],
                        ),
                        (
                            "unknown number, local index, bounded by modifyTimestamp",
                            [number_search(indexed, q, 0) for q in unknown],
                        ),
                        ("name (one word)", [name_search(scan, n) for n in names]),
                    ]
                    for what, calls in rows:
                        median, p95, cpu = timed(server, calls)
                        print(f"  {what}: median {median:.1f} ms, p95 {p95:.1f} ms, slapd CPU {cpu:.2f} ms per call")
                finally:
                    scan.close()
                    indexed.close()
                    unbounded.close()
            finally:
                server.stop()


if __name__ == "__main__":
    main()
