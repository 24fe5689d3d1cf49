"""Focus dialling's dial button: a tiny borderless, always-on-top window beside the focused field.

The window is Tk (in the standard library, on Linux, Windows and macOS) in a process of its own, so that
its event loop never shares the daemon's. It is override-redirect: the window manager neither decorates
nor focuses it, and clicking it leaves the keyboard focus in the user's field. The daemon drives it
through `DialButton` with one JSON object per line on the program's standard input:

    {"show": {"label": "Dial 020 7946 0958", "field": [x, y, width, height]}}   (field: null = by the pointer)
    {"hide": true}

and the program writes `clicked` on its standard output when the button is clicked. End of input ends it.

    python -m partnercrmd.dialling.dial_button
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

from ..platform.accessibility import Extents

log = logging.getLogger("partnercrmd.dialling.focus")

WINDOW_TITLE = "partnercrmd dial button"
"""The window's title (what xdotool and window lists find it by)."""
GAP = 4
"""Pixels between the field's right edge and the button."""
POLL_MS = 30
MAX_LABEL = 40
STOP_TIMEOUT = 3.0


# --- the daemon's side --------------------------------------------------------------------------------------


class DialButton:
    """The button window's program, started on first use and restarted after it ends; `clicked` hears clicks."""

    def __init__(self, clicked: Callable[[], None]) -> None:
        self.clicked = clicked
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self.shown = False

    async def show(self, label: str, field: Extents | None) -> None:
        """Show the button saying `label` beside `field` (by the pointer when its place is unknown)."""
        place = None if field is None else [field.x, field.y, field.width, field.height]
        if await self._send({"show": {"label": label[:MAX_LABEL], "field": place}}):
            self.shown = True

    async def hide(self) -> None:
        if self.shown:
            self.shown = False
            await self._send({"hide": True})

    async def close(self) -> None:
        """End the program (its input closed, then killed if it does not go)."""
        process, self._process = self._process, None
        self.shown = False
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            process.kill()
            await process.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def _send(self, command: dict[str, Any]) -> bool:
        """Write one command, starting the program if it is not running; False if it cannot run."""
        process = self._process
        if process is None or process.returncode is not None:
            process = await self._start()
        if process is None or process.stdin is None:
            return False
        try:
            process.stdin.write(json.dumps(command).encode() + b"\n")
            await process.stdin.drain()
        except (ConnectionError, OSError):
            log.warning("the dial button's window program ended")
            self._process = None
            return False
        return True

    async def _start(self) -> asyncio.subprocess.Process | None:
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                __name__,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
                creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),  # Windows: no console window flashes up
            )
        except OSError as exc:
            log.warning("could not start the dial button's window (%s)", exc)
            return None
        self._process = process
        self._reader = asyncio.create_task(self._read_clicks(process))
        return process

    async def _read_clicks(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        while line := await process.stdout.readline():
            if line.strip() == b"clicked":
                try:
                    self.clicked()
                except Exception:  # a failed dial must not stop the button
                    log.exception("dialling from the dial button failed")


# --- the window program -------------------------------------------------------------------------------------


def place(field: list[int] | None, size: tuple[int, int], screen: tuple[int, int], pointer: tuple[int, int]) -> str:
    """Tk geometry "+x+y" for a button of `size`: right of the field, centred on it, kept on screen."""
    width, height = size
    if field is None:
        x, y = pointer[0] + 12, pointer[1] + 12
    else:
        fx, fy, fw, fh = field
        x, y = fx + fw + GAP, fy + (fh - height) // 2
        if x + width > screen[0]:  # no room on the right: over the field's right end
            x = fx + fw - width - GAP
    x = max(0, min(x, screen[0] - width))
    y = max(0, min(y, screen[1] - height))
    return f"+{x}+{y}"


def main() -> None:
    """Run the button window until standard input ends."""
    import tkinter as tk

    commands: queue.Queue[dict[str, Any] | None] = queue.Queue()

    def read_input() -> None:
        for line in sys.stdin:
            with contextlib.suppress(ValueError):
                commands.put(json.loads(line))
        commands.put(None)

    root = tk.Tk(className="partnercrmd-dial-button")
    root.withdraw()
    root.title(WINDOW_TITLE)
    root.overrideredirect(True)  # no frame, and never given the focus by the window manager
    root.attributes("-topmost", True)

    def clicked() -> None:
        print("clicked", flush=True)

    button = tk.Button(
        root,
        text="",
        command=clicked,
        takefocus=0,
        background="#1e7e34",
        foreground="white",
        activebackground="#28a745",
        activeforeground="white",
        relief="flat",
        borderwidth=0,
        padx=8,
        pady=2,
        cursor="hand2",
        font=("DejaVu Sans", 9, "bold"),
    )
    button.pack()

    def poll() -> None:
        latest: dict[str, Any] | None = {}
        while latest is not None:  # only the newest command counts: a show and a hide in one look end hidden
            try:
                command = commands.get_nowait()
            except queue.Empty:
                break
            latest = command
        if latest is None:
            root.destroy()
            return
        if "show" in latest:
            shown = latest["show"]
            button.configure(text=str(shown.get("label", "Dial"))[:MAX_LABEL])
            root.update_idletasks()
            size = (root.winfo_reqwidth(), root.winfo_reqheight())
            screen = (root.winfo_screenwidth(), root.winfo_screenheight())
            root.geometry(place(shown.get("field"), size, screen, root.winfo_pointerxy()))
            root.deiconify()
            root.lift()
        elif "hide" in latest:
            root.withdraw()
        root.after(POLL_MS, poll)

    threading.Thread(target=read_input, name="dial-button-input", daemon=True).start()
    root.after(POLL_MS, poll)
    root.mainloop()


if __name__ == "__main__":
    main()
