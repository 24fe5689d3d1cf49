"""The capture box's window: a program of its own (Tk), run and fed by `capture_box.CaptureBox`.

    python -m partnercrmd.dialling.capture_window [--timeout SECONDS]

It draws two things, both borderless, always on top and never focused (override-redirect on X11, so the
window manager never gives them focus; Tk never asks for it either):

- the **frame**: four thin windows just *outside* the rectangle being read, so a read never captures it;
- the **panel** beside the frame: the numbers read, one button each, and a close button.

It runs in its own process so that Tk's event loop and its blocking calls never touch the daemon's event
loop, and so that a Tk that cannot start (no display, no Tk installed) costs the daemon nothing but a log line.

Messages are JSON objects, one a line. In, on standard input (from the daemon):

    {"op": "outline", "id": N, "rect": [left, top, right, bottom]}   frame the area read N (screen pixels)
    {"op": "numbers", "id": N, "title": "…", "numbers": ["…", …]}    list read N's numbers as buttons
    {"op": "released"}   Ctrl+Shift was let go: moving the pointer away now closes the box
    {"op": "close"}      hide everything (Escape, a new read)

Out, on standard output (to the daemon):

    {"event": "ready"}
    {"event": "shown", "id": N, "panel": [l, t, r, b], "buttons": [[l, t, r, b], …]}
    {"event": "chosen", "id": N, "index": I}      button I of read N was clicked
    {"event": "closed", "id": N, "reason": "away" | "timeout" | "button" | "empty"}   the box of read N closed itself

The end of standard input ends the program. The buttons only ever answer with an index: the daemon
keeps the numbers and decides what is dialled.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import tkinter

FRAME_WIDTH = 2
"""Pixels of each side of the frame."""
FRAME_GAP = 1
"""Pixels between the rectangle read and the frame, so that the frame never overlaps what is read."""
PANEL_GAP = 6
"""Pixels between the frame and the panel."""
NEAR = 40
"""Once Ctrl+Shift is released, the box closes when the pointer is farther than this from the frame and panel."""
TIMEOUT = 10.0
"""Seconds the box stays up while the pointer is not over it."""
EMPTY_SHOWN = 1.5
"""Seconds "No phone number here" stays up."""
POLL_MS = 25
"""How often the pointer is looked at while the box is up (and, on Windows, the daemon's messages), in ms."""
FRAME_COLOUR = "#1a73e8"
PANEL_BACKGROUND = "#ffffff"
TEXT_COLOUR = "#202124"
WINDOW_TITLE = "partnercrmd capture box"
"""The name of the panel window (WM_NAME), by which tests and tools find it."""


@dataclass(frozen=True)
class Rect:
    left: int
    top: int
    right: int
    bottom: int

    @classmethod
    def of(cls, value: Any) -> Rect:
        """A rectangle from a message's [left, top, right, bottom]; ValueError if it is not one."""
        if not (isinstance(value, list) and len(value) == 4 and all(type(v) is int for v in value)):
            raise ValueError("a rectangle is four integers")
        rect = cls(*value)
        if rect.right <= rect.left or rect.bottom <= rect.top:
            raise ValueError("a rectangle has a width and a height")
        return rect

    def as_list(self) -> list[int]:
        return [self.left, self.top, self.right, self.bottom]

    def grown(self, by: int) -> Rect:
        return Rect(self.left - by, self.top - by, self.right + by, self.bottom + by)

    def contains(self, x: int, y: int) -> bool:
        return self.left <= x < self.right and self.top <= y < self.bottom


def frame_sides(rect: Rect) -> list[Rect]:
    """The four thin rectangles of the frame around `rect`, all outside it: top, bottom, left, right."""
    outer = rect.grown(FRAME_GAP + FRAME_WIDTH)
    inner = rect.grown(FRAME_GAP)
    return [
        Rect(outer.left, outer.top, outer.right, inner.top),
        Rect(outer.left, inner.bottom, outer.right, outer.bottom),
        Rect(outer.left, inner.top, inner.left, inner.bottom),
        Rect(inner.right, inner.top, outer.right, inner.bottom),
    ]


def place_panel(rect: Rect, width: int, height: int, screen_width: int, screen_height: int) -> tuple[int, int]:
    """Where the panel's top left corner goes: centred under the frame, above it when there is no room below,
    and always on the screen."""
    outer = rect.grown(FRAME_GAP + FRAME_WIDTH)
    x = (rect.left + rect.right) // 2 - width // 2
    y = outer.bottom + PANEL_GAP
    if y + height > screen_height and outer.top - PANEL_GAP - height >= 0:
        y = outer.top - PANEL_GAP - height
    x = max(0, min(x, screen_width - width))
    y = max(0, min(y, screen_height - height))
    return x, y


def parse_message(line: str) -> dict[str, Any]:
    """One message from the daemon; ValueError says what is wrong with it."""
    message = json.loads(line)
    if not isinstance(message, dict) or message.get("op") not in ("outline", "numbers", "released", "close"):
        raise ValueError("not a capture box message")
    if message["op"] in ("outline", "numbers") and type(message.get("id")) is not int:
        raise ValueError("a read has an integer id")
    if message["op"] == "outline":
        Rect.of(message.get("rect"))
    elif message["op"] == "numbers":
        numbers = message.get("numbers")
        if not (isinstance(numbers, list) and all(isinstance(n, str) for n in numbers)):
            raise ValueError("numbers is a list of strings")
        if not isinstance(message.get("title", ""), str):
            raise ValueError("the title is a text")
    return message


def on_screen(widget: tkinter.Misc) -> Rect:
    """Where a widget is on the screen."""
    left, top = widget.winfo_rootx(), widget.winfo_rooty()
    return Rect(left, top, left + widget.winfo_width(), top + widget.winfo_height())


def _no_activation(window: tkinter.Toplevel) -> None:
    """Keep the window from ever being activated where the system would (untested there: Windows, macOS).

    X11 needs nothing more than override-redirect. On Windows a shown window is activated unless it has
    WS_EX_NOACTIVATE; on macOS Tk's "help" window class with noActivates is a panel that never becomes key.
    """
    if sys.platform == "win32":
        import ctypes

        gwl_exstyle, ws_ex_noactivate, ws_ex_toolwindow = -20, 0x08000000, 0x00000080
        hwnd = int(window.wm_frame(), 16)
        user32 = ctypes.windll.user32  # type: ignore[attr-defined,unused-ignore]  # Windows only
        user32.SetWindowLongW(
            hwnd, gwl_exstyle, user32.GetWindowLongW(hwnd, gwl_exstyle) | ws_ex_noactivate | ws_ex_toolwindow
        )
    elif sys.platform == "darwin":
        import tkinter

        with contextlib.suppress(tkinter.TclError):  # an older Tk: the panel may take focus when clicked
            window.tk.call("::tk::unsupported::MacWindowStyle", "style", str(window), "help", "noActivates")


class CaptureWindow:
    """The frame and the panel, and what the daemon asked for; every method runs in Tk's thread."""

    def __init__(self, root: tkinter.Tk, send: Callable[[dict[str, Any]], None], timeout: float = TIMEOUT) -> None:
        self.root = root
        self.send = send
        self.timeout = timeout
        self.frame = [self._toplevel(FRAME_COLOUR) for _ in range(4)]
        self.panel = self._toplevel(PANEL_BACKGROUND)
        self.panel.title(WINDOW_TITLE)
        self.rect: Rect | None = None
        self.panel_rect: Rect | None = None
        self.read_id: int | None = None
        self.released = False
        self.near_since = time.monotonic()
        self.close_at: float | None = None
        self._watch: str | None = None
        """The pointer watch's next turn, while the box is up (nothing runs while it is not)."""

    def _toplevel(self, colour: str) -> tkinter.Toplevel:
        import tkinter

        window = tkinter.Toplevel(self.root, background=colour, takefocus=0)
        window.withdraw()
        window.overrideredirect(True)
        window.attributes("-topmost", True)
        _no_activation(window)
        return window

    @property
    def up(self) -> bool:
        return self.rect is not None

    def handle(self, message: dict[str, Any]) -> None:
        op = message["op"]
        if op == "outline":
            self.outline(message["id"], Rect.of(message["rect"]))
        elif op == "numbers":
            self.numbers(message["id"], message.get("title", ""), message["numbers"])
        elif op == "released":
            self.released = True
        elif op == "close":
            self.hide()

    def outline(self, read_id: int, rect: Rect) -> None:
        """Frame `rect`, the area of read `read_id` (a new read: whatever was shown goes)."""
        self.hide()
        self.rect, self.read_id, self.released, self.near_since = rect, read_id, False, time.monotonic()
        self._watch = self.root.after(POLL_MS, self.watch_pointer)
        for window, side in zip(self.frame, frame_sides(rect), strict=True):
            window.geometry(f"{side.right - side.left}x{side.bottom - side.top}+{side.left}+{side.top}")
            window.deiconify()
            window.lift()

    def numbers(self, read_id: int, title: str, numbers: Sequence[str]) -> None:
        """List `numbers` as buttons in the panel beside the frame ("No phone number here" when there are none)."""
        import tkinter
        import tkinter.font

        if self.rect is None or read_id != self.read_id:
            return  # closed since the read began, or another read framed since
        for child in self.panel.winfo_children():
            child.destroy()
        box = tkinter.Frame(
            self.panel, background=PANEL_BACKGROUND, highlightthickness=1, highlightbackground=FRAME_COLOUR
        )
        box.pack(fill="both", expand=True)
        header = tkinter.Frame(box, background=PANEL_BACKGROUND)
        header.pack(fill="x", padx=6, pady=(4, 2))
        label = title if numbers else "No phone number here"
        tkinter.Label(header, text=label, background=PANEL_BACKGROUND, foreground=TEXT_COLOUR, anchor="w").pack(
            side="left", fill="x", expand=True
        )
        tkinter.Button(
            header,
            text="×",
            command=lambda: self.hide("button"),
            takefocus=0,
            relief="flat",
            borderwidth=0,
            highlightthickness=0,
            background=PANEL_BACKGROUND,
            foreground=TEXT_COLOUR,
            padx=4,
            pady=0,
        ).pack(side="right")
        bold = tkinter.font.nametofont("TkDefaultFont").copy()
        bold.configure(weight="bold")
        buttons = []
        for index, number in enumerate(numbers):
            button = tkinter.Button(
                box,
                text=number,
                command=functools.partial(self.choose, index),
                takefocus=0,
                background=FRAME_COLOUR,
                foreground="#ffffff",
                activebackground="#1558b0",
                activeforeground="#ffffff",
                relief="flat",
                borderwidth=0,
                highlightthickness=0,
                padx=12,
                pady=4,
                font=bold,
            )
            button.pack(fill="x", padx=6, pady=(0, 6))
            buttons.append(button)
        self.panel.update_idletasks()
        width, height = self.panel.winfo_reqwidth(), self.panel.winfo_reqheight()
        x, y = place_panel(self.rect, width, height, self.root.winfo_screenwidth(), self.root.winfo_screenheight())
        self.panel.geometry(f"{width}x{height}+{x}+{y}")
        self.panel_rect = Rect(x, y, x + width, y + height)
        self.panel.deiconify()
        self.panel.lift()
        self.panel.update_idletasks()
        self.send(
            {
                "event": "shown",
                "id": read_id,
                "panel": self.panel_rect.as_list(),
                "buttons": [on_screen(button).as_list() for button in buttons],
            }
        )
        self.close_at = None if numbers else time.monotonic() + EMPTY_SHOWN

    def choose(self, index: int) -> None:
        if self.read_id is not None:
            self.send({"event": "chosen", "id": self.read_id, "index": index})
        self.hide("button")

    def hide(self, reason: str | None = None) -> None:
        """Take the box off the screen; `reason` (the box closed itself) is told to the daemon."""
        read_id = self.read_id
        if self._watch is not None:
            self.root.after_cancel(self._watch)
            self._watch = None
        for window in (*self.frame, self.panel):
            window.withdraw()
        self.rect = self.panel_rect = self.read_id = self.close_at = None
        if read_id is not None and reason is not None:
            self.send({"event": "closed", "id": read_id, "reason": reason})

    def watch_pointer(self) -> None:
        """Close the box when the pointer has left it (after Ctrl+Shift was released) or stayed away too long."""
        self._watch = None
        if self.rect is None:
            return
        self._watch = self.root.after(POLL_MS, self.watch_pointer)
        now = time.monotonic()
        if self.close_at is not None and now >= self.close_at:
            self.hide("empty")
            return
        x, y = self.root.winfo_pointerxy()
        areas = [self.rect.grown(FRAME_GAP + FRAME_WIDTH + NEAR)]
        if self.panel_rect is not None:
            areas.append(self.panel_rect.grown(NEAR))
        if any(area.contains(x, y) for area in areas):
            self.near_since = now
        elif self.released:
            self.hide("away")
            return
        if now - self.near_since > self.timeout:
            self.hide("timeout")


def read_input(root: tkinter.Tk, on_line: Callable[[str], None], on_end: Callable[[], None]) -> None:
    """Hand each line of standard input to `on_line` in Tk's thread, then call `on_end`.

    Unix: Tk wakes up when input arrives (a file handler), so an idle window program costs nothing.
    Windows has no file handlers for pipes: a thread reads, and Tk looks at what it read every POLL_MS.
    """
    import tkinter

    if sys.platform != "win32":
        fd = sys.stdin.fileno()
        pending = b""

        def readable(_fd: int, _mask: int) -> None:
            nonlocal pending
            chunk = os.read(fd, 65536)
            if not chunk:
                root.tk.deletefilehandler(fd)
                on_end()
                return
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                on_line(line.decode(errors="replace"))

        root.tk.createfilehandler(fd, tkinter.READABLE, readable)
        return
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:  # blocking: a thread of its own
        for line in sys.stdin:
            lines.put(line)
        lines.put(None)

    def poll() -> None:
        while True:
            try:
                line = lines.get_nowait()
            except queue.Empty:
                break
            if line is None:
                on_end()
                return
            on_line(line)
        root.after(POLL_MS, poll)

    threading.Thread(target=read, name="capture-box-input", daemon=True).start()
    root.after(POLL_MS, poll)


def main(arguments: Sequence[str] | None = None) -> int:
    import argparse
    import tkinter

    parser = argparse.ArgumentParser(prog="capture_window", description="The capture box's window (capture_box.py).")
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds the box stays up away from the pointer")
    options = parser.parse_args(arguments)

    try:
        root = tkinter.Tk(className="partnercrmd-capture-box")
    except tkinter.TclError as exc:
        print(f"Tk cannot start: {exc}", file=sys.stderr, flush=True)
        return 1
    root.withdraw()

    def send(event: dict[str, Any]) -> None:
        try:
            sys.stdout.write(json.dumps(event) + "\n")
            sys.stdout.flush()
        except (BrokenPipeError, ValueError):  # the daemon has gone
            root.quit()

    window = CaptureWindow(root, send, options.timeout)

    def handle(line: str) -> None:
        try:
            window.handle(parse_message(line))
        except ValueError as exc:  # the daemon's bug, never the user's: say so and go on
            print(f"capture box: a message was refused ({exc})", file=sys.stderr, flush=True)

    read_input(root, handle, root.quit)
    send({"event": "ready"})
    root.mainloop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
