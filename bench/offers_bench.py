#!/usr/bin/env python3
"""Dial offers on screen: time from a copy to the notification reaching the notification service, beside the time to
the `DialOffer` event; and screenshots of the notification and the tray icon for docs/click-to-dial.md.

    python bench/offers_bench.py                       # 30 copies (about 40 s)
    python bench/offers_bench.py --quick               # 8 copies
    python bench/offers_bench.py --write               # also rewrite the offers section of docs/performance.md
    python bench/offers_bench.py --screenshots docs/screenshots

Everything is real and private: Xvfb and xclip (as bench/clipboard_bench.py), a D-Bus session bus of its own with
Debian's dunst as the notification service and trayer as the system tray (tests/notification_desktop.py), and a
`partnercrmd serve` process with clipboard dialling on. Each copy holds a new number; measured from the moment
`xclip -i` owns the clipboard until (a) the `DialOffer` arrives on the event WebSocket and (b) the `Notify` call
carrying the offer reaches dunst on the bus (the bus's own timestamp, read with `dbus-monitor`). Baseline: (a),
what a phone client drawing the offer itself gets; the ratio (b)/(a) is what to compare between machines.
The script exits 1, writing nothing, if an event or a notification does not arrive.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import queue
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import aiohttp
from benchlib import percentile, run_facts, write_section
from clipboard_bench import BenchError, Daemon, Xvfb, next_offer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the tests' D-Bus bus and dunst harness

from partnercrmd.dialling.clipboard import POLL_INTERVAL  # noqa: E402
from tests.notification_desktop import Dunst, SessionBus  # noqa: E402

BEGIN_MARK = "<!-- offers-on-screen:begin -->"
END_MARK = "<!-- offers-on-screen:end -->"
NOTIFY_TIMEOUT = 5.0
COPY_TEXT = "Please call me back on 020 7946 {:04d}."
TWO_NUMBERS = "Sales +1 212 736 5000, or our London office on 020 7946 0111."
NOTIFY = re.compile(r"^method call time=(\d+\.\d+) .*member=Notify$")


class NotifyWatch:
    """`dbus-monitor` on the bench's bus: the bus's time of every Notify call, as they come."""

    def __init__(self, bus: SessionBus) -> None:
        self.times: queue.Queue[float] = queue.Queue()
        self.proc = subprocess.Popen(
            ["dbus-monitor", "--address", bus.address, "interface='org.freedesktop.Notifications',member='Notify'"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            match = NOTIFY.match(line.strip())
            if match:
                self.times.put(float(match[1]))

    def next(self) -> float:
        try:
            return self.times.get(timeout=NOTIFY_TIMEOUT)
        except queue.Empty:
            raise BenchError(f"no Notify within {NOTIFY_TIMEOUT:g} s of the copy") from None

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(5)


async def measure(daemon: Daemon, xvfb: Xvfb, watch: NotifyWatch, copies: int) -> tuple[list[float], list[float]]:
    """(copy → DialOffer, copy → Notify) in seconds, one pair per copy of a new number."""
    to_event: list[float] = []
    to_notify: list[float] = []
    async with aiohttp.ClientSession() as session:
        app_id = f"offers-bench-{os.getpid()}"
        async with session.post(
            daemon.url("Register"),
            data={"Name": "offers bench", "Id": app_id},
            headers={"Authorization": f"Bearer {daemon.info['token']}"},
        ) as response:
            if response.status != 204:
                raise BenchError(f"Register: HTTP {response.status}")
        async with session.ws_connect(daemon.url(f"events/{app_id}")) as ws:
            phases = [(n + random.random()) / copies * POLL_INTERVAL for n in range(copies)]
            random.shuffle(phases)
            for n, phase in enumerate(phases):
                await asyncio.sleep(phase)
                await asyncio.to_thread(xvfb.copy, COPY_TEXT.format(200 + n))
                copied, copied_wall = time.perf_counter(), time.time()
                event = await next_offer(ws)
                to_event.append(time.perf_counter() - copied)
                if event["Numbers"][0]["E164"] != f"+44207946{200 + n:04d}":
                    raise BenchError(f"wrong DialOffer: {event['Numbers']}")
                to_notify.append(await asyncio.to_thread(watch.next) - copied_wall)
    return to_event, to_notify


def screenshots(folder: Path, xvfb: Xvfb, watch: NotifyWatch) -> None:
    """The notification of a two-number offer (top right, where dunst draws) and the tray (bottom right, trayer)."""
    import mss
    from PIL import Image

    xvfb.copy(TWO_NUMBERS)
    watch.next()
    time.sleep(1.0)  # dunst draws right after Notify; leave it time to paint
    os.environ["DISPLAY"] = xvfb.display
    with mss.MSS() as screen:
        shot = screen.grab(screen.monitors[0])
    image = Image.frombytes("RGB", shot.size, shot.bgra, "raw", "BGRX")
    width, height = image.size
    folder.mkdir(parents=True, exist_ok=True)
    image.crop((width - 420, 0, width, 140)).save(folder / "offer-notification.png")
    tray = image.crop((width - 120, height - 40, width, height))
    tray.resize((tray.width * 3, tray.height * 3), Image.Resampling.NEAREST).save(folder / "tray-icon.png")


def report(to_event: list[float], to_notify: list[float], facts: str, quick: bool) -> str:
    ms = [(1000 * statistics.median(v), 1000 * percentile(v, 95)) for v in (to_event, to_notify)]
    extra = [1000 * (b - a) for a, b in zip(to_event, to_notify, strict=True)]
    return "\n".join(
        [
            "## Dial offers on screen",
            "",
            "Measured by `bench/offers_bench.py` on a private Xvfb display with xclip, a private D-Bus session bus with"
            " Debian's dunst as the notification service and trayer as the tray, against a real `partnercrmd serve`"
            " with clipboard dialling on. Run it with `python bench/offers_bench.py` (`--quick`: 8 copies; `--write`"
            " replaces this section).",
            "",
            "Run: " + facts + ("; quick run" if quick else ""),
            "",
            f"**From a copy to the notification.** Another program (`xclip -i`) copies a new number at a random moment"
            f" of the clipboard's poll cycle ({len(to_event)} copies). Measured from the moment it owns the clipboard"
            " until the `DialOffer` arrives on the event WebSocket (the baseline: what a phone client that draws the"
            " offer itself gets), and until the `Notify` call with the offer's Dial buttons reaches dunst (the bus's"
            " timestamp). Each new offer first takes the previous notification off the screen (CloseNotification).",
            "",
            "| Measure | Median ms | p95 ms | Ratio to the event (median / p95) |",
            "|---|---:|---:|---:|",
            f"| copy → `DialOffer` on the WebSocket (baseline) | {ms[0][0]:.1f} | {ms[0][1]:.1f} | 1 / 1 |",
            f"| copy → `Notify` reaches dunst | {ms[1][0]:.1f} | {ms[1][1]:.1f} |"
            f" {ms[1][0] / ms[0][0]:.2f} / {ms[1][1] / ms[0][1]:.2f} |",
            f"| the notification's own part (Notify − DialOffer, per copy) | {statistics.median(extra):.1f} |"
            f" {percentile(extra, 95):.1f} | |",
            "",
            f"The clipboard's poll ({POLL_INTERVAL * 1000:.0f} ms, half of it on average) is nearly all of the wait;"
            " the notification adds the part in the last row (a task on the daemon's loop, the withdrawal of the"
            " previous offer and one D-Bus call).",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--screenshots", type=Path)
    args = parser.parse_args(argv)
    copies = 8 if args.quick else 30
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="offers-bench-") as folder:
        xvfb = Xvfb()
        bus = SessionBus(Path(folder), xvfb)  # type: ignore[arg-type]  # Xvfb has the display SessionBus needs
        dunst = Dunst(bus)
        trayer = subprocess.Popen(
            ["trayer", "--edge", "bottom", "--align", "right", "--widthtype", "request", "--height", "32"],
            env={**xvfb.env, **bus.env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        watch = NotifyWatch(bus)
        os.environ["DBUS_SESSION_BUS_ADDRESS"] = bus.address
        home = Path(folder) / "home"
        home.mkdir()
        (home / "branding.toml").write_text('[product]\nname = "Acme Connect"\n', encoding="utf-8")  # a partner's
        daemon = Daemon(home, xvfb.display, clipboard=True)
        try:
            to_event, to_notify = asyncio.run(measure(daemon, xvfb, watch, copies))
            if args.screenshots:
                screenshots(args.screenshots, xvfb, watch)
        except BenchError as exc:
            print(f"offers bench failed: {exc}", file=sys.stderr)
            return 1
        finally:
            daemon.stop()
            watch.stop()
            trayer.terminate()
            trayer.wait(5)
            dunst.close()
            bus.close()
            xvfb.stop()
    facts = run_facts(f"dunst {subprocess.run(['dunst', '-v'], capture_output=True, text=True).stdout.strip()}")
    section = report(to_event, to_notify, facts + f"; {time.monotonic() - began:.0f} s", args.quick)
    print(section)
    if args.write:
        write_section(BEGIN_MARK, END_MARK, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
