"""Screen-read dialling: the phone numbers shown around a point of the screen, read with tesseract.

capture a box around the point (mss) → preprocess (grayscale, inverted when mostly
dark, upscaled, a white border) → tesseract through pytesseract (`--psm 7`, one
line, then `--psm 6`, a block, when the line holds no number) → `detect.find_numbers`
→ the numbers nearest the point first, placed by tesseract's word boxes.

Measured under Xvfb (docs/screen-read.md): preprocessing is what makes small and
dark-theme text readable. Reads are blocking (one tesseract process each): the
daemon runs them through `ScreenReader`, one at a time in a worker thread of its
own. The text tesseract recognised is never logged or kept.
"""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import PartnerError, TooManyRequests
from ..platform.tesseract import find_tesseract
from .detect import FoundNumber, find_numbers
from .platform_support import screen_read_problem, tesseract_problem

if TYPE_CHECKING:
    from PIL import Image

# mss, pytesseract and Pillow are the `ocr` extra: imported where they are used, so a base install runs
# without them and says what to install (platform_support.ocr_modules_problem).

CAPTURE_WIDTH = 480
CAPTURE_HEIGHT = 64
"""The box read around the pointer: a long international number at 24 px either side of it, about one line high."""
SCALE = 3
"""Upscaling before OCR: 11 px text becomes the ~30 px tesseract reads best."""
MAX_SIDE = 4000
"""A whole image (`partnercrmd ocr`) is upscaled less so that neither side exceeds this."""
BORDER = 10
DARK = 128
"""Mean gray level below which the capture is taken for a dark theme and inverted."""
CAPTURE_PAGE_MODES = (7, 6)
"""tesseract page segmentation for a capture: a single line first, then a uniform block."""
IMAGE_PAGE_MODES = (6, 11)
"""For a whole image: a uniform block first, then sparse text."""
OCR_TIMEOUT = 10.0
MAX_QUEUED = 4
"""Screen reads waiting for the one running; more are refused (429)."""


class ScreenReadError(PartnerError):
    """The screen cannot be read here (no display, Wayland, no permission, no tesseract) or the read failed."""

    status = 503
    code = "screen_read_unavailable"


@dataclass(frozen=True)
class Box:
    left: int
    top: int
    right: int
    bottom: int

    def distance(self, x: float, y: float) -> float:
        """From a point to the nearest edge of the box; 0 inside it."""
        dx = max(self.left - x, 0.0, x - self.right)
        dy = max(self.top - y, 0.0, y - self.bottom)
        return math.hypot(dx, dy)

    def moved(self, dx: int, dy: int) -> Box:
        return Box(self.left + dx, self.top + dy, self.right + dx, self.bottom + dy)


@dataclass(frozen=True)
class OcrWord:
    text: str
    box: Box
    line: tuple[int, int, int]
    """tesseract's (block, paragraph, line) numbers."""


@dataclass(frozen=True)
class ScreenNumber:
    """A number read from the screen (or an image) and where it was, in that screen's pixels."""

    number: FoundNumber
    box: Box


# --- the pipeline (blocking) -------------------------------------------------------------------------------------


def prefer_single_threaded_tesseract() -> None:
    """tesseract's OpenMP threads cost more than they bring on one small capture (measured: bench/ocr_bench.py).

    Set once before the first read; a value the user set is left alone.
    """
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")


def use_tesseract(pytesseract: Any) -> None:
    """Point pytesseract at the tesseract this platform has (bundled, on the PATH, or where installers put it)."""
    found = find_tesseract()
    if found is None:
        raise ScreenReadError(tesseract_problem() or "tesseract is not installed.")
    pytesseract.pytesseract.tesseract_cmd = found.command
    if found.tessdata:  # a bundled tesseract's language data; a value the user set is left alone
        os.environ.setdefault("TESSDATA_PREFIX", found.tessdata)


def preprocess(image: Image.Image, scale: float = SCALE) -> Image.Image:
    """Grayscale, inverted when mostly dark (dark themes), upscaled `scale` times, with a white border."""
    from PIL import Image, ImageOps, ImageStat

    if "A" in image.getbands() or image.mode == "P":  # transparent pixels count as white, not black
        image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image.convert("RGBA"))
    gray = image.convert("L")
    if ImageStat.Stat(gray).mean[0] < DARK:
        gray = ImageOps.invert(gray)
    if scale != 1:
        size = (round(gray.width * scale), round(gray.height * scale))
        gray = gray.resize(size, Image.Resampling.LANCZOS)
    return ImageOps.expand(gray, border=BORDER, fill=255)


def image_scale(image: Image.Image) -> float:
    """SCALE, or less for a large image (neither side over MAX_SIDE), never below 1."""
    return max(1.0, min(float(SCALE), MAX_SIDE / max(image.width, image.height, 1)))


def recognise(image: Image.Image, page_mode: int) -> list[OcrWord]:
    """tesseract's words with their boxes, in reading order."""
    import pytesseract  # type: ignore[import-untyped]  # pytesseract ships no type information

    use_tesseract(pytesseract)
    try:
        data = pytesseract.image_to_data(
            image, lang="eng", config=f"--psm {page_mode}", output_type=pytesseract.Output.DICT, timeout=OCR_TIMEOUT
        )
    except pytesseract.TesseractNotFoundError:
        raise ScreenReadError(tesseract_problem() or "tesseract could not be started.") from None
    except pytesseract.TesseractError as exc:
        raise ScreenReadError(f"tesseract failed (exit status {exc.status}).", code="ocr_failed") from None
    except RuntimeError:  # pytesseract's timeout
        raise ScreenReadError(f"tesseract took longer than {OCR_TIMEOUT:g} s.", code="ocr_failed") from None
    words = []
    for i, text in enumerate(data["text"]):
        if not str(text).strip():
            continue
        left, top = int(data["left"][i]), int(data["top"][i])
        box = Box(left, top, left + int(data["width"][i]), top + int(data["height"][i]))
        words.append(OcrWord(str(text), box, (data["block_num"][i], data["par_num"][i], data["line_num"][i])))
    return words


def locate_numbers(words: Sequence[OcrWord], region: str | None) -> list[ScreenNumber]:
    """The numbers in the recognised text, each with the union of the boxes of the words it was read from."""
    text, spans, line = "", [], None
    for word in words:
        if text:
            text += "\n" if word.line != line else " "
        spans.append((len(text), len(text) + len(word.text), word.box))
        text += word.text
        line = word.line
    located = []
    for number in find_numbers(text, region):
        boxes = [box for start, end, box in spans if start < number.end and end > number.start]
        if boxes:
            union = Box(
                min(b.left for b in boxes),
                min(b.top for b in boxes),
                max(b.right for b in boxes),
                max(b.bottom for b in boxes),
            )
            located.append(ScreenNumber(number, union))
    return located


def _unscaled(box: Box, scale: float) -> Box:
    """A box in the preprocessed image, back in the pixels of the original."""

    def back(value: int) -> int:
        return round((value - BORDER) / scale)

    return Box(back(box.left), back(box.top), back(box.right), back(box.bottom))


def numbers_in_image(
    image: Image.Image,
    region: str | None,
    point: tuple[float, float] | None = None,
    page_modes: Sequence[int] = IMAGE_PAGE_MODES,
    scale: float | None = None,
) -> list[ScreenNumber]:
    """Every number tesseract reads in `image`: nearest `point` first, else in reading order.

    The page modes are tried in turn until one yields a number. Boxes are in `image`'s pixels.
    """
    factor = image_scale(image) if scale is None else scale
    prepared = preprocess(image, factor)
    for page_mode in page_modes:
        found = [
            ScreenNumber(n.number, _unscaled(n.box, factor))
            for n in locate_numbers(recognise(prepared, page_mode), region)
        ]
        if found:
            if point is not None:
                x, y = point
                found.sort(key=lambda n: (n.box.distance(x, y), n.box.top, n.box.left))
            return found
    return []


def capture_box(x: int, y: int, screen: Box, width: int = CAPTURE_WIDTH, height: int = CAPTURE_HEIGHT) -> Box:
    """The box of `width` × `height` centred on the point, moved inside the screen where it would cross an edge."""
    width, height = min(width, screen.right - screen.left), min(height, screen.bottom - screen.top)
    left = min(max(x - width // 2, screen.left), screen.right - width)
    top = min(max(y - height // 2, screen.top), screen.bottom - height)
    return Box(left, top, left + width, top + height)


def pointer_position() -> tuple[int, int]:
    """Where the mouse pointer is now, in screen pixels."""
    # imported late: on X11 the import needs a display; pynput ships no type information
    from pynput.mouse import Controller  # type: ignore[import-untyped]

    controller = Controller()
    x, y = controller.position
    del controller  # closes its display connection
    return int(x), int(y)


def grab(box: Box) -> Image.Image:
    """The screen's pixels inside `box`."""
    import mss
    from PIL import Image

    with mss.MSS() as screen:
        shot = screen.grab(
            {"left": box.left, "top": box.top, "width": box.right - box.left, "height": box.bottom - box.top}
        )
    return Image.frombytes("RGB", shot.size, shot.bgra, "raw", "BGRX")


def screen_bounds() -> Box:
    """The box of all monitors together."""
    import mss

    with mss.MSS() as screen:
        whole = screen.monitors[0]
    return Box(whole["left"], whole["top"], whole["left"] + whole["width"], whole["top"] + whole["height"])


def read_screen(
    x: int | None, y: int | None, region: str | None, on_capture: Callable[[Box], None] | None = None
) -> list[ScreenNumber]:
    """The numbers shown around (x, y), the pointer by default, nearest first; boxes in screen pixels.

    `on_capture` is called with the box read as soon as its pixels are taken, before the OCR: what is drawn
    from then on (the capture box's frame) is never read.
    """
    problem = screen_read_problem()
    if problem:
        raise ScreenReadError(problem)
    import mss

    try:
        if x is None or y is None:
            x, y = pointer_position()
        box = capture_box(x, y, screen_bounds())
        image = grab(box)
    except mss.ScreenShotError as exc:
        raise ScreenReadError(f"The screen could not be captured: {exc}") from None
    if on_capture is not None:
        on_capture(box)
    found = read_capture(image, (x - box.left, y - box.top), region)
    return [ScreenNumber(n.number, n.box.moved(box.left, box.top)) for n in found]


def read_capture(image: Image.Image, point: tuple[float, float], region: str | None) -> list[ScreenNumber]:
    """The numbers in a captured box (`image`, at device pixels), nearest `point` first; boxes in its pixels.

    What `read_screen` (so `POST ScreenRead` and the Ctrl+Shift hotkey) does after the grab, and what the
    render corpus benchmark and its test call on rendered boxes.
    """
    return numbers_in_image(image, region, point, CAPTURE_PAGE_MODES, scale=SCALE)


# --- the daemon's side -------------------------------------------------------------------------------------------


class ScreenReader:
    """Reads the screen for the daemon: one read at a time, in a worker thread of its own, never on the event loop."""

    def __init__(self, region: Callable[[], str | None]) -> None:
        self._region = region
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="partnercrmd-screen-read")
        self._lock = asyncio.Lock()
        self._queued = 0
        prefer_single_threaded_tesseract()

    @property
    def busy(self) -> bool:
        """Whether a read is running (a hotkey then skips rather than queue another)."""
        return self._lock.locked()

    async def read(
        self, x: int | None = None, y: int | None = None, on_capture: Callable[[Box], None] | None = None
    ) -> list[ScreenNumber]:
        """The numbers around (x, y), the pointer by default, nearest first (`on_capture`: read_screen's, called
        in the worker thread)."""
        if self._queued >= MAX_QUEUED:
            raise TooManyRequests("Screen reads are already waiting; try again in a moment.")
        self._queued += 1
        try:
            async with self._lock:
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(self._executor, read_screen, x, y, self._region(), on_capture)
        finally:
            self._queued -= 1

    async def close(self) -> None:
        """Wait for a running read to end (bounded by tesseract's timeout); drop queued ones."""
        await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)
