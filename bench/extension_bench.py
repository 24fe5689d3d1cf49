#!/usr/bin/env python3
"""Browser-extension benchmark: linking numbers on a 5 MB page, against the page's own load in the same run.

    python bench/extension_bench.py            # 3 rounds (about two minutes)
    python bench/extension_bench.py --quick    # 1 round
    python bench/extension_bench.py --write    # also replace the extension section of docs/performance.md

The page is the one tests/test_browser_extension.py uses: about 5 MB of text in
25,000 paragraphs (dates, prices, ids, and 2,500 phone numbers), in sections of
100, once with `content-visibility: auto` on the sections (contained) and once
without. Debian's Chromium (Playwright, headless) loads the shipped Chromium
package; the extension's region is set to GB (no daemon is needed to find numbers).

For each page and round, in a fresh tab with Chromium's trace running:

- baseline: the page's own load (navigation start to the load event) and the
  longest main-thread task of the load, in CPU time (the trace's thread time);
- the extension: from its `partnercrmd:start` mark to its `partnercrmd:idle`
  mark, the links made, the longest main-thread task in CPU time and the number
  of tasks over 50 ms of CPU time in that span, and the long tasks the page's
  own PerformanceObserver saw (wall time: includes waiting for a CPU).

The median of the rounds is reported; ratios are against the page's load in the same round.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the test helpers: the same page, trace reader and extension loading

from benchlib import BenchError, write_section  # noqa: E402  (after the path it needs)
from playwright.sync_api import BrowserContext, sync_playwright  # noqa: E402

from tests.browser_session import launch_with_extension  # noqa: E402
from tests.extension_harness import (  # noqa: E402
    RendererTrace,
    big_page,
    page_server,
    service_worker,
    unpack_chromium_package,
    wait_scanned,
)

BEGIN_MARK = "<!-- extension:begin -->"
END_MARK = "<!-- extension:end -->"
LONG_MS = 50.0
PAGES = {"contained": True, "uncontained": False}


@dataclass(frozen=True)
class Round:
    load_ms: float
    load_longest_cpu_ms: float
    scan_ms: float
    links: int
    scan_longest_cpu_ms: float
    scan_long_cpu_tasks: int
    page_long_tasks: int


def measure(context: BrowserContext, url: str) -> Round:
    page = context.new_page()
    trace = RendererTrace(context, page)
    trace.start()
    page.goto(url)
    links = wait_scanned(page, timeout=600_000)
    trace.stop(page)
    seen = page.evaluate(
        """() => {
        const [nav] = performance.getEntriesByType('navigation');
        const [start] = performance.getEntriesByName('partnercrmd:start');
        const [idle] = performance.getEntriesByName('partnercrmd:idle');
        const during = t => t.start + t.duration > start.startTime && t.start < idle.startTime;
        return {load: nav.loadEventEnd, start: start.startTime, idle: idle.startTime,
                longTasks: window.longTasks.filter(during).length};
    }"""
    )
    scan = trace.tasks("partnercrmd:start", "partnercrmd:idle")
    start_mark = trace.mark("partnercrmd:start")
    offset_us = start_mark["ts"] - start_mark["args"]["data"]["startTime"] * 1000
    load = [
        e["tdur"] / 1000
        for e in trace.events
        if e.get("ph") == "X"
        and e.get("name") == "RunTask"
        and (e["pid"], e["tid"]) == (start_mark["pid"], start_mark["tid"])
        and "tdur" in e
        and (e["ts"] - offset_us) / 1000 < seen["load"]
    ]
    page.close()
    if not scan or not load:
        raise BenchError("the trace holds no tasks of the page's renderer")
    return Round(
        load_ms=seen["load"],
        load_longest_cpu_ms=max(load),
        scan_ms=seen["idle"] - seen["start"],
        links=links,
        scan_longest_cpu_ms=max(cpu for _, _, cpu in scan),
        scan_long_cpu_tasks=sum(1 for _, _, cpu in scan if cpu >= LONG_MS),
        page_long_tasks=int(seen["longTasks"]),
    )


def run(rounds: int) -> dict[str, list[Round]]:
    results: dict[str, list[Round]] = {name: [] for name in PAGES}
    with tempfile.TemporaryDirectory() as temp, sync_playwright() as driver:
        root = Path(temp)
        for name, contained in PAGES.items():
            (root / f"{name}.html").write_text(big_page(contained), encoding="utf-8")
        extension = unpack_chromium_package(root / "extension")
        context = launch_with_extension(driver, extension, root / "profile")
        try:
            service_worker(context).evaluate("chrome.storage.local.set({region: 'GB'})")
            with page_server(root) as base:
                for number in range(rounds):
                    for name in PAGES if number % 2 == 0 else reversed(list(PAGES)):
                        results[name].append(measure(context, f"{base}/{name}.html"))
                        print(f"round {number + 1} {name}: {results[name][-1]}", file=sys.stderr)
        finally:
            context.close()
    for name, measured in results.items():
        if any(r.links != 2_500 for r in measured):
            raise BenchError(f"the {name} page did not get its 2,500 links: {[r.links for r in measured]}")
    return results


def median(values: list[float]) -> float:
    return statistics.median(values)


def report(results: dict[str, list[Round]], rounds: int, load_before: float) -> str:
    try:
        chromium = subprocess.run(["chromium", "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except OSError:
        chromium = "Chromium"
    size = len(big_page(True).encode("utf-8")) / 1_000_000
    lines = [
        "## Browser extension: linking a 5 MB page",
        "",
        "Measured by `bench/extension_bench.py`: the extension (the shipped Chromium package in Debian's Chromium, "
        "headless, region GB) linking the numbers of a 5 MB page, against the page's own load in the same round. "
        "Run it with `python bench/extension_bench.py` (`--quick`: 1 round; `--write` replaces this section).",
        "",
        f"Run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPUs; {chromium}; Python "
        f"{platform.python_version()} on {platform.system()} {platform.release()}; median of {rounds} rounds; "
        f"load average {load_before:.2f} at the start, {os.getloadavg()[0]:.2f} at the end.",
        "",
        f"**Page.** {size:.1f} MB of HTML: 25,000 paragraphs of text with dates, prices and ids, 2,500 of them with a "
        "phone number, in sections of 100 paragraphs; *contained*: the sections have `content-visibility: auto` "
        "(the browser lays out only what is on screen), *uncontained*: they do not. *CPU ms*: thread time of a "
        "main-thread task in Chromium's trace (wall time also counts waiting for a CPU). *Page long tasks*: what "
        "the page's `longtask` PerformanceObserver saw (wall time) while the extension worked.",
        "",
        "| Page | Page load ms (baseline) | Longest task of the load, CPU ms | Extension: start to idle ms | "
        "Scan time / load time | Longest task while scanning, CPU ms | Tasks over 50 ms CPU while scanning | "
        "Page long tasks while scanning |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, measured in results.items():
        load = median([r.load_ms for r in measured])
        scan = median([r.scan_ms for r in measured])
        lines.append(
            f"| {name} | {load:,.0f} | {median([r.load_longest_cpu_ms for r in measured]):,.0f} | {scan:,.0f} | "
            f"{scan / load:.1f} | {median([r.scan_longest_cpu_ms for r in measured]):,.1f} | "
            f"{median([float(r.scan_long_cpu_tasks) for r in measured]):,.0f} | "
            f"{median([float(r.page_long_tasks) for r in measured]):,.0f} |"
        )
    contained = results["contained"]
    uncontained = results["uncontained"]
    lines += [
        "",
        f"Contained page: the extension's longest task ran {median([r.scan_longest_cpu_ms for r in contained]):.1f} "
        f"ms of CPU time, against {median([r.load_longest_cpu_ms for r in contained]):,.0f} ms for the longest "
        "task of the page's own load. Uncontained page: the longest task while the extension worked ran "
        f"{median([r.scan_longest_cpu_ms for r in uncontained]):,.0f} ms of CPU time: there every batch of links "
        "makes the browser lay out and paint the whole page again (any change to such a page does, whoever makes "
        "it), so the extension puts links in at most once a second.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="1 round")
    parser.add_argument("--write", action="store_true", help="replace the section of docs/performance.md")
    args = parser.parse_args(argv)
    rounds = 1 if args.quick else 3
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    try:
        results = run(rounds)
    except BenchError as exc:
        print(f"extension_bench: {exc}", file=sys.stderr)
        return 1
    section = report(results, rounds, load_before)
    print(section)
    print(f"(took {time.monotonic() - started:.0f} s)", file=sys.stderr)
    if args.write:
        write_section(BEGIN_MARK, END_MARK, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
