#!/usr/bin/env python3
"""Render corpus benchmark of screen-read dialling: exact reads per axis and read time, against plain tesseract.

    python bench/screen_read_corpus_bench.py            # full run: 360 capture boxes (about 5 minutes on 2 cores)
    python bench/screen_read_corpus_bench.py --quick    # 48 boxes (under a minute)
    python bench/screen_read_corpus_bench.py --write    # also replace the figures in docs/screen-read.md
    python bench/screen_read_corpus_bench.py --misses   # also list every case partnercrmd did not read exactly

The corpus (tests/screen_corpus.py) renders, with Pillow and deterministically from a seed, the
capture box of the real size (480 × 64 logical px, at device pixels) around a number as office
and CRM screens show it: fonts (Liberation Sans/Serif/Mono: the metrics of Arial, Times New Roman
and Courier New; DejaVu Sans), regular/bold/italic, 9-13 px, 100/125/150 % display scaling,
grayscale, subpixel or no antialiasing, light/dark themes, a coloured row, a selection highlight,
underlined links, busy lines (a second number, words and punctuation, table borders) and the
formats people write numbers in. Each case is read by `screen.read_capture` (what `POST
ScreenRead` and Ctrl+Shift run after the grab) and by the baseline, plain tesseract on the raw
box (as bench/ocr_bench.py has it), in alternating order.

A read is exact when the number offered first is the right one (E.164 and extension) — so no
wrong number is offered before it. Also counted: the whole line read (every number on the
pointer's line offered). Nothing is sent anywhere.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: the corpus lives in `tests`
    sys.path.insert(0, str(REPO))

import pytesseract  # type: ignore[import-untyped]  # noqa: E402  # pytesseract ships no type information
from benchlib import percentile, run_facts, write_section  # noqa: E402  (bench/ is the script's directory)
from ocr_bench import Variant, ours, plain_tesseract, tesseract_threads  # noqa: E402

from partnercrmd.dialling.screen import ScreenNumber  # noqa: E402
from tests.screen_corpus import AXES, Case, Rendered, cases, render  # noqa: E402

DOC = REPO / "docs" / "screen-read.md"
BEGIN_MARK = "<!-- screen-read-corpus:begin -->"
END_MARK = "<!-- screen-read-corpus:end -->"
FULL, QUICK = 360, 48
TARGET_EXACT = 0.95
TARGET_MS = 300.0

VARIANTS = (
    Variant("partnercrmd (`screen.read_capture`, 1 tesseract thread as the daemon runs it)", ours, "1"),
    Variant("plain tesseract on the raw box (baseline)", plain_tesseract, None),
)
OURS, BASELINE = VARIANTS[0].name, VARIANTS[1].name


def offered(found: Sequence[ScreenNumber]) -> list[str]:
    """What a read offers, in order, as the corpus writes its truth (E.164 with `;ext=`)."""
    return [f"{n.number.e164};ext={n.number.extension}" if n.number.extension else n.number.e164 for n in found]


@dataclass
class Tally:
    seconds: list[float] = field(default_factory=list)
    exact: int = 0
    whole_line: int = 0
    by_value: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    """(axis, value) → [exact, cases]."""
    misses: list[tuple[Case, list[str], tuple[str, ...]]] = field(default_factory=list)

    def add(self, shown: Rendered, seconds: float, found: list[ScreenNumber]) -> None:
        self.seconds.append(seconds)
        numbers = offered(found)
        exact = bool(numbers) and numbers[0] == shown.e164
        self.exact += exact
        self.whole_line += set(shown.line_numbers) <= set(numbers)
        for axis in AXES:
            counts = self.by_value.setdefault((axis, shown.case.axis(axis)), [0, 0])
            counts[0] += exact
            counts[1] += 1
        if not exact:
            self.misses.append((shown.case, numbers, shown.line_numbers))


@dataclass
class Results:
    count: int
    tallies: dict[str, Tally]
    load: tuple[float, float]
    seconds: float


def measure(count: int) -> Results:
    load = os.getloadavg()[0]
    started = time.monotonic()
    tallies = {v.name: Tally() for v in VARIANTS}
    selection = cases(count)
    with tesseract_threads("1"):
        ours(render(selection[0]).image, render(selection[0]).point)  # warm-up: page cache, tessdata
    for index, case in enumerate(selection):
        shown = render(case)
        order = VARIANTS if index % 2 == 0 else VARIANTS[::-1]
        for variant in order:
            with tesseract_threads(variant.threads):
                start = time.perf_counter()
                found = variant.read(shown.image, shown.point)
                tallies[variant.name].add(shown, time.perf_counter() - start, found)
    return Results(count, tallies, (load, os.getloadavg()[0]), time.monotonic() - started)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "-"


def report(results: Results) -> str:
    mine, plain = results.tallies[OURS], results.tallies[BASELINE]
    total = results.count
    base = statistics.median(plain.seconds)
    lines = [
        f"Run: {run_facts(f'tesseract {pytesseract.get_tesseract_version()}')}; {total} capture boxes, "
        f"{results.seconds:.0f} s; load average {results.load[0]:.2f} at the start, {results.load[1]:.2f} at the end.",
        "",
        "| Reader | Exact | Whole line read | Median ms | p95 ms | Ratio (medians) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for variant in VARIANTS:
        t = results.tallies[variant.name]
        median = statistics.median(t.seconds)
        lines.append(
            f"| {variant.name} | {t.exact}/{total} ({pct(t.exact, total)}) | {t.whole_line}/{total} "
            f"| {ms(median)} | {ms(percentile(t.seconds, 95))} | {median / base:.2f} |"
        )
    lines += [
        "",
        "Exact per axis value, partnercrmd / plain tesseract:",
        "",
        "| Axis | Value | Boxes | partnercrmd | plain tesseract |",
        "|---|---|---:|---:|---:|",
    ]
    for axis, values in AXES.items():
        for value in values:
            good, seen = mine.by_value.get((axis, value), [0, 0])
            base_good, _ = plain.by_value.get((axis, value), [0, 0])
            lines.append(f"| {axis} | {value} | {seen} | {pct(good, seen)} | {pct(base_good, seen)} |")
    median = statistics.median(mine.seconds)
    met = mine.exact >= TARGET_EXACT * total and median * 1000 <= TARGET_MS
    lines += [
        "",
        f"Goal: at least {TARGET_EXACT:.0%} exact, median read at most {TARGET_MS:.0f} ms on 2 cores: "
        f"{'met' if met else 'NOT met'} ({pct(mine.exact, total)}, {ms(median)} ms).",
    ]
    return "\n".join(lines)


def misses(results: Results) -> str:
    return "\n".join(
        f"MISS {case}: offered {found or 'nothing'}; truth {truth}"
        for case, found, truth in results.tallies[OURS].misses
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK} capture boxes instead of {FULL}")
    parser.add_argument("--count", type=int, help="this many capture boxes (while developing)")
    parser.add_argument("--write", action="store_true", help="replace the figures in docs/screen-read.md")
    parser.add_argument("--misses", action="store_true", help="list the cases partnercrmd did not read exactly")
    args = parser.parse_args(argv)
    results = measure(args.count or (QUICK if args.quick else FULL))
    figures = report(results)
    print(figures)
    if args.misses:
        print(misses(results))
    if args.write:
        write_section(BEGIN_MARK, END_MARK, figures, doc=DOC)
    return 0


if __name__ == "__main__":
    sys.exit(main())
