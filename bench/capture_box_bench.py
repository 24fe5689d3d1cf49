#!/usr/bin/env python3
"""Capture box benchmark: from Ctrl+Shift going down to the frame, the number's button and the DialOffer.

    python bench/capture_box_bench.py            # full run: 20 holds (about 1.5 minutes)
    python bench/capture_box_bench.py --quick    # 5 holds (under 30 s)
    python bench/capture_box_bench.py --write    # also replace the capture box section of docs/performance.md

A private Xvfb display with openbox and the focused text window of the capture box's tests
(tests/test_capture_box.py: a Tk window with a number in 18 px DejaVu Sans), and a real `partnercrmd serve`
(this Python) with screen reading on, in a temporary PARTNERCRMD_HOME with the keyring off. For each hold,
Ctrl+Shift goes down over the number (XTEST, through python-xlib, so that the moment it goes down is known to
the millisecond) and the screen is watched (mss, every few milliseconds) until the frame is drawn and until
the panel shows the number's button; the `DialOffer` is timed on the event WebSocket. The first hold starts
the window program (reported on its own); the others find it running.

Baseline, measured in the same run: the hold delay (Ctrl+Shift must be held alone for it) plus one read
of the same box by partnercrmd's pipeline called directly (grab and OCR), the least any surface can take.
The script exits 1, writing nothing, if a hold shows no box or offers the wrong number.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: the desktop and the text window live in `tests`
    sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402
from benchlib import BenchError, percentile, run_facts, write_section  # noqa: E402  (bench/ is the script's directory)
from PIL import Image  # noqa: E402

from partnercrmd.dialling.capture_window import FRAME_COLOUR, FRAME_GAP, PANEL_GAP, Rect, frame_sides  # noqa: E402
from partnercrmd.dialling.hotkeys import HOLD_DELAY  # noqa: E402
from partnercrmd.dialling.screen import (  # noqa: E402
    Box,
    capture_box,
    grab,
    prefer_single_threaded_tesseract,
    read_capture,
)
from partnercrmd.dialling.service import DUPLICATE_WINDOW  # noqa: E402
from tests.daemon_process import Daemon, run_cli, running_daemon  # noqa: E402
from tests.desktop_session import Desktop, desktop_session, window_manager  # noqa: E402
from tests.test_capture_box import E164, SCREEN, text_window_on  # noqa: E402

BEGIN_MARK = "<!-- capture-box:begin -->"
END_MARK = "<!-- capture-box:end -->"
HEADING = "## Capture box"
WAIT = 20.0
"""Seconds a hold may take to show its box before the run fails."""
LOOK_EVERY = 0.003
"""Seconds between two looks at the screen."""


@dataclass
class Hold:
    frame: float
    buttons: float
    offer: float


@dataclass
class Results:
    first: Hold
    holds: list[Hold] = field(default_factory=list)
    reads: list[float] = field(default_factory=list)
    seconds: float = 0.0
    quick: bool = False
    load: tuple[float, float] = (0.0, 0.0)
    """The 1-minute load average at the start and at the end."""


def frame_colour_count(image: Image.Image) -> int:
    wanted = tuple(int(FRAME_COLOUR[i : i + 2], 16) for i in (1, 3, 5))
    return sum(count for count, pixel in (image.getcolors(image.width * image.height) or []) if pixel == wanted)


def screen_part(display: str, box: Box) -> Image.Image:
    import mss

    with mss.MSS(display=display) as screen:
        shot = screen.grab(
            {"left": box.left, "top": box.top, "width": box.right - box.left, "height": box.bottom - box.top}
        )
    return Image.frombytes("RGB", shot.size, shot.bgra, "raw", "BGRX")


def until(condition: Callable[[], bool], within: float = WAIT) -> float:
    """Look until `condition` holds; the monotonic time it was first seen to."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise BenchError("the capture box did not appear")
        time.sleep(LOOK_EVERY)
    return time.monotonic()


class Keys:
    """Key presses through XTEST on the bench's display, each returning once the X server has it."""

    def __init__(self, display: str) -> None:
        # python-xlib (pynput's on Linux) ships no type information
        from Xlib import XK  # type: ignore[import-untyped]
        from Xlib import display as xdisplay

        self.connection = xdisplay.Display(display)
        self.codes = {
            name: self.connection.keysym_to_keycode(XK.string_to_keysym(name))
            for name in ("Control_L", "Shift_L", "Escape")
        }

    def send(self, *presses: tuple[str, bool]) -> float:
        from Xlib import X
        from Xlib.ext import xtest  # type: ignore[import-untyped]

        for name, down in presses:
            xtest.fake_input(self.connection, X.KeyPress if down else X.KeyRelease, self.codes[name])
        self.connection.sync()
        return time.monotonic()

    def close(self) -> None:
        self.connection.close()


@contextmanager
def bench_desktop(folder: Path) -> Iterator[tuple[Desktop, tuple[int, int]]]:
    with desktop_session() as desktop, window_manager(desktop), text_window_on(desktop, folder) as window:
        yield desktop, window.number_centre


async def offers(ws: aiohttp.ClientWebSocketResponse, arrived: list[tuple[float, Any]]) -> None:
    async for message in ws:
        event = message.json()
        if event.get("EventType") == "DialOffer":
            arrived.append((time.monotonic(), event))


def measure(folder: Path, rounds: int) -> Results:
    began, load = time.monotonic(), os.getloadavg()[0]
    with bench_desktop(folder) as (desktop, (x, y)):
        read = capture_box(x, y, SCREEN)
        frame_side = frame_sides(Rect(read.left, read.top, read.right, read.bottom))[0]
        below = Box(
            max(0, read.left - 200), read.bottom + FRAME_GAP + PANEL_GAP, min(1280, read.right + 200), read.bottom + 120
        )
        os.environ["DISPLAY"] = desktop.display  # the baseline's direct reads grab this display
        prefer_single_threaded_tesseract()  # as the daemon reads
        home, env = folder / "home", {"DISPLAY": desktop.display}
        if run_cli(home, "settings", "set", "screen_read_dialling=on", extra_env=env).returncode:
            raise BenchError("partnercrmd settings set screen_read_dialling=on failed")
        with running_daemon(home, extra_env=env) as daemon:
            results = asyncio.run(_holds(desktop, daemon, (x, y), read, frame_side, below, rounds, began))
    results.load = (load, os.getloadavg()[0])
    return results


async def _holds(
    desktop: Desktop,
    daemon: Daemon,
    point: tuple[int, int],
    read: Box,
    side: Rect,
    below: Box,
    rounds: int,
    began: float,
) -> Results:
    app_id = await asyncio.to_thread(daemon.register_trusted, "Capture box bench")
    keys = Keys(desktop.display)
    arrived: list[tuple[float, Any]] = []
    centre = Box(
        side.left + (side.right - side.left) // 2 - 2,
        side.top,
        side.left + (side.right - side.left) // 2 + 2,
        side.bottom,
    )
    holds: list[Hold] = []
    reads: list[float] = []
    try:
        async with aiohttp.ClientSession() as session, session.ws_connect(daemon.url(f"events/{app_id}")) as ws:
            listener = asyncio.create_task(offers(ws, arrived))
            await asyncio.to_thread(desktop.run, "xdotool", "mousemove", *map(str, point))
            await asyncio.sleep(1.0)  # the daemon's listener has started (settings followed within a second)
            for _ in range(rounds + 1):
                arrived.clear()
                down = await asyncio.to_thread(keys.send, ("Control_L", True), ("Shift_L", True))
                framed = await asyncio.to_thread(
                    until, lambda: frame_colour_count(screen_part(desktop.display, centre)) > 0
                )
                listed = await asyncio.to_thread(
                    until, lambda: frame_colour_count(screen_part(desktop.display, below)) > 500
                )
                await asyncio.to_thread(until, lambda: bool(arrived))
                if arrived[0][1]["Numbers"][0]["E164"] != E164:
                    raise BenchError(f"the offer was not the number shown: {arrived[0][1]}")
                holds.append(Hold(framed - down, listed - down, arrived[0][0] - down))
                await asyncio.to_thread(
                    keys.send, ("Shift_L", False), ("Control_L", False), ("Escape", True), ("Escape", False)
                )
                await asyncio.to_thread(until, lambda: frame_colour_count(screen_part(desktop.display, centre)) == 0)
                closed = time.monotonic()
                start = time.monotonic()  # the baseline's read, between the holds: the same load on both
                await asyncio.to_thread(read_capture, grab(read), (point[0] - read.left, point[1] - read.top), "GB")
                reads.append(time.monotonic() - start)
                # the same offer again within DUPLICATE_WINDOW would be dropped as a repeat
                await asyncio.sleep(max(0.0, closed + DUPLICATE_WINDOW + 0.2 - time.monotonic()))
            listener.cancel()
    finally:
        keys.close()
    return Results(holds[0], holds[1:], reads[1:], time.monotonic() - began)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def report(results: Results) -> str:
    baseline = [HOLD_DELAY + r for r in results.reads]
    rows = [
        ("Ctrl+Shift down → frame on screen", [h.frame for h in results.holds]),
        ("Ctrl+Shift down → number's button on screen", [h.buttons for h in results.holds]),
        ("Ctrl+Shift down → `DialOffer` on the WebSocket", [h.offer for h in results.holds]),
        ("hold delay + one read, called directly (baseline)", baseline),
    ]
    base = statistics.median(baseline)
    table = ["| Measure | Median ms | p95 ms | Ratio to the baseline (medians) |", "|---|---:|---:|---:|"]
    for name, values in rows:
        median = statistics.median(values)
        table.append(f"| {name} | {ms(median)} | {ms(percentile(values, 95))} | {median / base:.2f} |")
    first = results.first
    return "\n".join(
        [
            HEADING,
            "",
            "Measured by `bench/capture_box_bench.py` (docs/click-to-dial.md, *The capture box*): a private Xvfb "
            "display with openbox, the capture box tests' focused text window (a number in 18 px DejaVu Sans) and "
            "a real `partnercrmd serve` with screen reading on. Ctrl+Shift goes down over the number through XTEST; "
            "the screen is watched every 3 ms for the frame and for the panel's button, and the `DialOffer` is "
            "timed on the event WebSocket. Baseline: the hold delay (Ctrl+Shift must be held alone "
            f"{ms(HOLD_DELAY)} ms before anything is read, so that shortcuts never read the screen) plus one grab "
            "and read of the same box by partnercrmd's pipeline, called directly in the same run. Run it with "
            "`python bench/capture_box_bench.py` (`--quick`: 5 holds; `--write` replaces this section).",
            "",
            f"Run: {run_facts()}; {'quick' if results.quick else 'full'} run, {len(results.holds)} holds after the "
            f"first, {results.seconds:.0f} s; load average {results.load[0]:.2f} at the start, "
            f"{results.load[1]:.2f} at the end.",
            "",
            *table,
            "",
            f"The first hold also starts the window program: frame {ms(first.frame)} ms, button "
            f"{ms(first.buttons)} ms, `DialOffer` {ms(first.offer)} ms after Ctrl+Shift went down. The frame "
            "follows the capture (it is drawn just after the pixels are taken); the button follows the "
            "`DialOffer` by the time one message to the window program and one redraw take.",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="5 holds instead of 20")
    parser.add_argument("--write", action="store_true", help="replace the section in docs/performance.md")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="partnercrmd-capture-box-bench-") as temp:
        try:
            results = measure(Path(temp), 5 if options.quick else 20)
        except BenchError as exc:
            print(f"capture box bench: {exc}", file=sys.stderr)
            return 1
    results.quick = options.quick
    section = report(results)
    print(section)
    if options.write:
        write_section(BEGIN_MARK, END_MARK, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
