#!/usr/bin/env python3
"""OCR benchmark of screen-read dialling: latency per capture and accuracy, against plain tesseract.

    python bench/ocr_bench.py            # full run: 3 rounds over the 36 numbers (about 2 minutes)
    python bench/ocr_bench.py --quick    # one round (under a minute)
    python bench/ocr_bench.py --write    # also replace the figures in docs/performance.md

The sample screen of the screen-read tests (tests/test_screen_read.py: 36 numbers in
three fonts, three sizes from 11 px, light and dark themes, two numbers to a line) is
shown in a Tk window on a private Xvfb display. For each number the box the daemon
reads around the pointer is grabbed with mss, and every variant reads the same
captured pixels, in rotating order so that other load on the machine affects them
alike:

- partnercrmd's pipeline (`screen.read_capture`, what the daemon runs after the grab:
  the line under the pointer, scaled from its height, `--psm 7`, read again only while
  no number is read at the pointer; docs/screen-read.md), with tesseract limited to one
  OpenMP thread as the daemon runs it;
- the same pipeline with tesseract's default threads;
- the baseline: plain tesseract (default page segmentation, no preprocessing, default
  threads) on the raw capture, with the same number detection and ordering.

Reported: median and p95 latency per capture, the ratio to the baseline, and accuracy
(the right number first; the right number found at all), plus the whole image as
`partnercrmd ocr` reads it. Nothing is sent anywhere; Xvfb and the viewer are stopped
at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: the sample screen and the Xvfb helper live in `tests`
    sys.path.insert(0, str(REPO))

import pytesseract  # type: ignore[import-untyped]  # noqa: E402  # pytesseract ships no type information
from benchlib import percentile, run_facts, write_section  # noqa: E402  (bench/ is the script's directory)
from PIL import Image  # noqa: E402

from partnercrmd.dialling.screen import (  # noqa: E402
    CAPTURE_HEIGHT,
    CAPTURE_WIDTH,
    Box,
    ScreenNumber,
    capture_box,
    grab,
    locate_numbers,
    numbers_in_image,
    read_capture,
    recognise,
)
from tests.desktop_session import desktop_session  # noqa: E402
from tests.test_screen_read import SCREEN, SIZES, THEMES, ShownNumber, render_sample, showing  # noqa: E402

BEGIN_MARK = "<!-- ocr:begin -->"
END_MARK = "<!-- ocr:end -->"
HEADING = "## Screen read (OCR)"
REGION = "GB"
TARGET_MS = 400.0
SEED = 20261125
OMP = "OMP_THREAD_LIMIT"
PLAIN_PAGE_MODE = 3
"""tesseract's default page segmentation (fully automatic)."""

Reader = Callable[[Image.Image, tuple[int, int]], list[ScreenNumber]]


def ours(image: Image.Image, point: tuple[int, int]) -> list[ScreenNumber]:
    return read_capture(image, point, REGION)


def plain_tesseract(image: Image.Image, point: tuple[int, int]) -> list[ScreenNumber]:
    found = locate_numbers(recognise(image, PLAIN_PAGE_MODE), REGION)
    return sorted(found, key=lambda n: (n.box.distance(*point), n.box.top, n.box.left))


@dataclass(frozen=True)
class Variant:
    name: str
    read: Reader
    threads: str | None
    """OMP_THREAD_LIMIT for tesseract (None: its default, all CPUs)."""


VARIANTS = (
    Variant("partnercrmd: `read_capture` (the line under the pointer), 1 tesseract thread", ours, "1"),
    Variant("partnercrmd's pipeline with tesseract's default threads", ours, None),
    Variant("plain tesseract on the raw capture (baseline)", plain_tesseract, None),
)
BASELINE = VARIANTS[-1].name


@dataclass
class Tally:
    seconds: list[float] = field(default_factory=list)
    first: int = 0
    anywhere: int = 0
    by_kind: dict[tuple[int, str], list[int]] = field(default_factory=dict)
    """(size, theme) → [right first, reads]."""

    def add(self, shown: ShownNumber, seconds: float, found: list[ScreenNumber]) -> None:
        self.seconds.append(seconds)
        numbers = [n.number.e164 for n in found]
        right = bool(numbers) and numbers[0] == shown.e164
        self.first += right
        self.anywhere += shown.e164 in numbers
        kind = self.by_kind.setdefault((shown.size, shown.theme), [0, 0])
        kind[0] += right
        kind[1] += 1


@dataclass
class Results:
    rounds: int
    captures: list[float]
    tallies: dict[str, Tally]
    whole: dict[str, tuple[float, int]]
    """Variant → (seconds, right numbers found) for the whole sample image."""
    load: tuple[float, float]
    seconds: float = 0.0


@contextmanager
def tesseract_threads(limit: str | None) -> Iterator[None]:
    """Run tesseract with OMP_THREAD_LIMIT=`limit` (None: unset) inside the block; restore afterwards."""
    before = os.environ.get(OMP)
    if limit is None:
        os.environ.pop(OMP, None)
    else:
        os.environ[OMP] = limit
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(OMP, None)
        else:
            os.environ[OMP] = before


def measure(rounds: int) -> Results:
    load = os.getloadavg()[0]
    started = time.monotonic()
    image, shown = render_sample()
    tallies = {v.name: Tally() for v in VARIANTS}
    captures: list[float] = []
    whole: dict[str, tuple[float, int]] = {}
    order = random.Random(SEED)
    screen = Box(0, 0, *SCREEN)
    with (
        tempfile.TemporaryDirectory() as tmp,
        desktop_session() as desktop,
        showing(desktop, image, Path(tmp) / "sample.png"),
    ):
        os.environ["DISPLAY"] = desktop.display
        with tesseract_threads("1"):
            ours(grab(capture_box(*shown[0].centre, screen)), (240, 32))  # warm-up: page cache, tessdata
        for round_number in range(rounds):
            for index in order.sample(range(len(shown)), len(shown)):
                number = shown[index]
                x, y = number.centre
                box = capture_box(x, y, screen)
                start = time.perf_counter()
                capture = grab(box)
                captures.append(time.perf_counter() - start)
                point = (x - box.left, y - box.top)
                shift = (index + round_number) % len(VARIANTS)
                for variant in VARIANTS[shift:] + VARIANTS[:shift]:
                    with tesseract_threads(variant.threads):
                        start = time.perf_counter()
                        found = variant.read(capture, point)
                        tallies[variant.name].add(number, time.perf_counter() - start, found)
        expected = {s.e164 for s in shown}
        readers: list[tuple[str, str | None, Callable[[], list[ScreenNumber]]]] = [
            (VARIANTS[0].name, "1", lambda: numbers_in_image(image, REGION)),
            (BASELINE, None, lambda: locate_numbers(recognise(image, PLAIN_PAGE_MODE), REGION)),
        ]
        for name, threads, read_whole in readers:
            with tesseract_threads(threads):
                start = time.perf_counter()
                found = read_whole()
                whole[name] = (time.perf_counter() - start, len({n.number.e164 for n in found} & expected))
    return Results(rounds, captures, tallies, whole, (load, os.getloadavg()[0]), time.monotonic() - started)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def machine() -> str:
    return run_facts(f"tesseract {pytesseract.get_tesseract_version()}")


def report(results: Results) -> str:
    base = statistics.median(results.tallies[BASELINE].seconds)
    capture = statistics.median(results.captures)
    total = len(results.tallies[BASELINE].seconds)
    lines = [
        f"Run: {machine()}; {results.rounds} round{'s' if results.rounds != 1 else ''}, {results.seconds:.0f} s; "
        f"load average {results.load[0]:.2f} at the start, {results.load[1]:.2f} at the end.",
        "",
        f"Each read is the {CAPTURE_WIDTH} × {CAPTURE_HEIGHT} px box around one of the 36 numbers of the sample "
        "screen (tests/test_screen_read.py: DejaVu Sans, DejaVu Serif and Liberation Sans at 11, 15 and 22 px, "
        "light and dark themes, two numbers to a line), shown in a Tk window under Xvfb and grabbed with mss. "
        "Every variant reads the same captured pixels, in rotating order. Baseline: plain tesseract (default "
        "page segmentation, no preprocessing, default threads) on the raw capture, with the same number "
        "detection and nearest-first ordering.",
        "",
        "| Variant | Reads | Median ms | p95 ms | Ratio (medians) | Right number first | Right number found |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| Capture: mss grab of the box | {len(results.captures)} | {ms(capture)} "
        f"| {ms(percentile(results.captures, 95))} | - | - | - |",
    ]
    for variant in VARIANTS:
        t = results.tallies[variant.name]
        median = statistics.median(t.seconds)
        lines.append(
            f"| {variant.name} | {len(t.seconds)} | {ms(median)} | {ms(percentile(t.seconds, 95))} "
            f"| {median / base:.2f} | {t.first}/{total} | {t.anywhere}/{total} |"
        )
    ours_tally = results.tallies[VARIANTS[0].name]
    per_capture = statistics.median(c + o for c, o in zip(results.captures, ours_tally.seconds, strict=True))
    lines += [
        "",
        "Right number first, partnercrmd / plain tesseract:",
        "",
        "| Size | " + " | ".join(THEMES) + " |",
        "|---|" + "---:|" * len(THEMES),
    ]
    for size in SIZES:
        cells = []
        for theme in THEMES:
            mine, plain = ours_tally.by_kind[(size, theme)], results.tallies[BASELINE].by_kind[(size, theme)]
            cells.append(f"{mine[0]}/{mine[1]} / {plain[0]}/{plain[1]}")
        lines.append(f"| {size} px | " + " | ".join(cells) + " |")
    (whole_ours, found_ours), (whole_plain, found_plain) = results.whole[VARIANTS[0].name], results.whole[BASELINE]
    lines += [
        "",
        f"Whole sample image ({SCREEN[0]} × {SCREEN[1]}, as `partnercrmd ocr` reads it): {ms(whole_ours)} ms, "
        f"{found_ours} of 36 numbers; plain tesseract: {ms(whole_plain)} ms, {found_plain} of 36.",
        "",
        f"Per capture, grab and read (partnercrmd, 1 tesseract thread): median {ms(per_capture)} ms against the "
        f"target of {TARGET_MS:.0f} ms on 2 cores ({'met' if per_capture * 1000 <= TARGET_MS else 'NOT met'}).",
    ]
    return "\n".join(lines)


def section(figures: str) -> str:
    return (
        f"{HEADING}\n\n"
        "Measured by `bench/ocr_bench.py`: OCR latency per capture and accuracy of screen-read dialling "
        "(docs/screen-read.md), against plain tesseract on the same captures in the same run. Run it with "
        "`python bench/ocr_bench.py` (about 2 minutes; `--quick`: 1 round; `--write` replaces this section).\n\n"
        + figures
    )


def write_doc(section: str) -> None:
    """Replace this benchmark's section of docs/performance.md."""
    write_section(BEGIN_MARK, END_MARK, section)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="one round instead of three")
    parser.add_argument("--write", action="store_true", help="replace the figures in docs/performance.md")
    args = parser.parse_args(argv)
    text = section(report(measure(1 if args.quick else 3)))
    print(text)
    if args.write:
        write_doc(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
