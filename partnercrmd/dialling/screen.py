"""Screen-read dialling: the phone numbers shown around a point of the screen, read with tesseract.

capture a box around the point (mss, at device pixels: 480 × 64 logical px times the display scaling) →
`read_capture`: find the text line under the point from the pixels → cut it out, dark on light, full
contrast, rules and dotted-zero dots cleared, softened, scaled from its measured height → tesseract
through pytesseract (`--psm 7`, one line) → digit lookalikes read as digits (`as_digits`) →
`detect.find_numbers` → read again at other scales only while no number is read at the point → the
numbers nearest the point first, placed by tesseract's word boxes. A whole image (`partnercrmd ocr`)
goes through `numbers_in_image` instead (upscaled, `--psm 6`, then `--psm 11`).

Measured on a render corpus of office and CRM screens (bench/screen_read_corpus_bench.py,
docs/screen-read.md). Reads are blocking (tesseract processes): the daemon runs them through
`ScreenReader`, one at a time in a worker thread of its own. The text tesseract recognised is never
logged or kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import PartnerError, TooManyRequests
from ..platform.screen import display_scale
from ..platform.tesseract import find_tesseract
from .detect import FoundNumber, find_numbers
from .platform_support import screen_read_problem, tesseract_problem

if TYPE_CHECKING:
    from PIL import Image

# mss, pytesseract and Pillow are the `ocr` extra: imported where they are used, so a base install runs
# without them and says what to install (platform_support.ocr_modules_problem).

CAPTURE_WIDTH = 480
CAPTURE_HEIGHT = 64
"""The box read around the pointer, in logical pixels (times `display_scale()` at device pixels): a long
international number at 24 px either side of it, about one line high."""
SCALE = 3
"""Upscaling before OCR: 11 px text becomes the ~30 px tesseract reads best."""
MAX_SIDE = 4000
"""A whole image (`partnercrmd ocr`) is upscaled less so that neither side exceeds this."""
BORDER = 10
DARK = 128
"""Mean gray level below which the capture is taken for a dark theme and inverted."""
IMAGE_PAGE_MODES = (6, 11)
"""For a whole image: a uniform block first, then sparse text."""
LINE_PAGE_MODE = 7
"""A capture reads only the line under the point: tesseract's single-line page segmentation."""
LINE_TARGET = 33.0
"""The height (px) the line under the point is scaled to for the first read (ascender to descender; measured
best of 25-55 on the render corpus, bench/screen_read_corpus_bench.py)."""
SECOND_TARGET = 45.0
"""The height for the second read, binarised, when the first offers no number at the point."""
RETRIES = ((SECOND_TARGET, True), (24.0, False), (38.0, False))
"""Reads tried in turn, (height, binarised), while no number has been read at the point: each view misreads
different glyphs (measured on the 360-box corpus: 335 exact with the first retry only, 337 with the second,
339 with the third; a fourth, at 55 px, added none)."""
MAX_LINE_SCALE = 6.0
SOFTEN = 0.6
"""Gaussian blur radius (capture pixels) before scaling: 1-bit glyphs upscale into stairs tesseract misreads."""
INK_CONTRAST = 48
"""Gray levels from the background at which a pixel counts as ink (telling light text from dark)."""
STEP_CONTRAST = 40
"""Gray levels between neighbouring pixels that make a sharp step (a glyph's edge)."""
TEXT_SHARE = 0.1
MIN_STEPS = 4
"""A row is text when it has at least this many steps and this share of the busiest row's."""
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

    gray = _gray(image)
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
            for n in locate_numbers(as_digits(recognise(prepared, page_mode)), region)
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

    controller = None
    try:
        controller = Controller()
        x, y = controller.position
    except Exception as exc:  # noqa: BLE001  (each pynput backend raises its own: Xlib's, ctypes' OSError, Quartz's)
        raise ScreenReadError(f"The mouse pointer could not be read: {exc}") from None
    finally:
        if controller is not None:
            _close_display(controller)
    return int(x), int(y)


def _close_display(controller: object) -> None:
    """Close the X connection pynput's X11 controller holds (other platforms' controllers hold none).

    pynput closes it only when the controller is collected, and raises there when the X server has gone: a read
    that failed because the display went left its controller to the garbage collector, which then raised in
    whatever ran next. The connection is taken from the controller, so its `__del__` has nothing left to close.
    """
    display = vars(controller).pop("_display", None)
    if display is not None:
        with contextlib.suppress(Exception):  # the server may have gone: there is nothing left to close then
            display.close()


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
        scale = display_scale()
        box = capture_box(x, y, screen_bounds(), round(CAPTURE_WIDTH * scale), round(CAPTURE_HEIGHT * scale))
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
    render corpus benchmark and its test call on rendered boxes. Only the text line under the point is read
    (its band found from the pixels), scaled from its measured height; it is read again (RETRIES: larger and
    binarised, then at other heights) only while no number has been read at the point, that is while the
    text there does not parse as a number (measured: bench/screen_read_corpus_bench.py).
    """
    # a point off the box (the pointer beyond the screen's edge, the box kept on the screen) reads at the box's edge
    point = (min(max(point[0], 0.0), image.width - 1.0), min(max(point[1], 0.0), image.height - 1.0))
    gray = _gray(image)
    band = text_band(gray, round(point[1]))
    found = _read_band(gray, band, point[0], region, LINE_TARGET, binarise=False)
    for target, binarise in RETRIES:
        if _at_point(found, point, band) is not None:
            break
        again = _read_band(gray, band, point[0], region, target, binarise)
        if _at_point(again, point, band) is not None:
            kept = {(n.number.e164, n.number.extension) for n in again}
            found = again + [n for n in found if (n.number.e164, n.number.extension) not in kept]
    x, y = point
    return sorted(found, key=lambda n: (n.box.distance(x, y), n.box.top, n.box.left))


def _gray(image: Image.Image) -> Image.Image:
    """`image` in gray levels, transparent pixels as white."""
    from PIL import Image

    if "A" in image.getbands() or image.mode == "P":  # transparent pixels count as white, not black
        image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image.convert("RGBA"))
    return image.convert("L")


def _row_median(row: bytes) -> int:
    return sorted(row)[len(row) // 2]


def text_band(gray: Image.Image, y: int) -> tuple[int, int]:
    """The rows (top, bottom) of the line of text at row `y` (or the nearest one) in a gray capture.

    A row belongs to text when it has many sharp steps between neighbouring pixels: that holds for any
    theme, a coloured row or a selection, and a box that straddles two windows; a table's horizontal rule or
    a row's edge has almost none, vertical rules only two each. Without any text, the whole box.
    """
    width, height = gray.size
    data = gray.tobytes()
    steps = []
    for row_top in range(0, width * height, width):
        row = data[row_top : row_top + width]
        steps.append(sum(1 for left, right in itertools.pairwise(row) if abs(left - right) > STEP_CONTRAST))
    most = max(steps, default=0)
    if not most:
        return 0, height
    text = [count >= max(MIN_STEPS, TEXT_SHARE * most) for count in steps]
    y = min(max(y, 0), height - 1)
    if not text[y]:
        y = min((row for row in range(height) if text[row]), key=lambda row: abs(row - y))
    top, bottom = y, y + 1
    while top > 0 and text[top - 1]:
        top -= 1
    while bottom < height and text[bottom]:
        bottom += 1
    return top, bottom


def _without_rules(line: Image.Image, text_height: int) -> Image.Image:
    """Dark-on-light `line` with long horizontal strokes (underlines, table rules) and full-height vertical
    ones (cell borders) painted white: tesseract reads them as digits (`_` under a `0` made a `6`)."""
    width, height = line.size
    pixels = bytearray(line.tobytes())
    longest = max(3 * text_height, 12)
    for row_top in range(0, width * height, width):
        run = 0
        for x in range(width + 1):
            if x < width and pixels[row_top + x] < 128:
                run += 1
                continue
            if run >= longest:
                pixels[row_top + x - run : row_top + x] = b"\xff" * run
            run = 0
    if height > 4:
        for x in range(width):
            column = pixels[x::width]
            if sum(1 for value in column if value < 128) >= height - 2:
                for row in range(height):
                    pixels[row * width + x] = 255
    from PIL import Image

    return Image.frombytes("L", line.size, bytes(pixels))


def _without_inner_dots(line: Image.Image) -> Image.Image:
    """Dark-on-light `line` with the ink that touches no outside background painted white: the dot of a
    dotted zero (Liberation Mono, DejaVu Sans Mono, Consolas), which tesseract reads as `6`, `G` or `@`.

    Outside background is what connects to the line's edge; ink is kept when it touches it (every glyph's
    outer stroke does), so only marks alone inside a hole go.
    """
    from PIL import Image

    width = line.width
    data = line.tobytes()
    ink = [value < 128 for value in data]
    outside = [False] * len(data)
    todo = [
        i
        for i in range(len(data))
        if not ink[i] and (i < width or i >= len(data) - width or i % width in (0, width - 1))
    ]
    for i in todo:
        outside[i] = True
    while todo:
        i = todo.pop()
        x = i % width
        for j in (i - width, i + width, i - 1 if x else -1, i + 1 if x < width - 1 else -1):
            if 0 <= j < len(data) and not ink[j] and not outside[j]:
                outside[j] = True
                todo.append(j)
    kept = [False] * len(data)
    todo = []
    for i in range(len(data)):
        if ink[i]:
            x = i % width
            for j in (i - width, i + width, i - 1 if x else -1, i + 1 if x < width - 1 else -1):
                if 0 <= j < len(data) and outside[j]:
                    kept[i] = True
                    todo.append(i)
                    break
    while todo:
        i = todo.pop()
        x = i % width
        for dy in (-width, 0, width):
            for dx in (-1, 0, 1):
                if (dx == -1 and not x) or (dx == 1 and x == width - 1):
                    continue
                j = i + dy + dx
                if 0 <= j < len(data) and ink[j] and not kept[j]:
                    kept[j] = True
                    todo.append(j)
    cleared = bytes(255 if ink[i] and not kept[i] else value for i, value in enumerate(data))
    return Image.frombytes("L", line.size, cleared)


def _read_band(
    gray: Image.Image, band: tuple[int, int], x: float, region: str | None, target: float, binarise: bool
) -> list[ScreenNumber]:
    """One tesseract read (`--psm 7`, one line) of the text line `band` of a gray capture; boxes in its pixels.

    The line is cut out with a margin, made dark on light (whichever its own background is near `x`), stretched to
    full contrast, cleared of rules, softened (1-bit glyphs upscale into stairs otherwise), scaled so the
    line is `target` px high, optionally binarised (Otsu), and given a white border.
    """
    from PIL import Image, ImageFilter, ImageOps

    top, bottom = band
    text_height = bottom - top
    margin = max(2, text_height // 4)
    top, bottom = max(0, top - margin), min(gray.height, bottom + margin)
    line = gray.crop((0, top, gray.width, bottom))
    # polarity from around the point only: a box can straddle a dark and a light window
    near = line.crop((max(0, round(x) - 6 * text_height), 0, min(line.width, round(x) + 6 * text_height), line.height))
    data = near.tobytes()
    level = _row_median(data)
    lighter = sum(1 for value in data if value - level > INK_CONTRAST)
    darker = sum(1 for value in data if level - value > INK_CONTRAST)
    if lighter > darker:  # light text on its background: dark themes, selections
        line = ImageOps.invert(line)
    line = ImageOps.autocontrast(line)
    line = _without_inner_dots(_without_rules(line, text_height))
    line = line.filter(ImageFilter.GaussianBlur(SOFTEN))
    scale = min(MAX_LINE_SCALE, max(1.0, target / max(text_height, 1)))
    line = line.resize((round(line.width * scale), round(line.height * scale)), Image.Resampling.LANCZOS)
    if binarise:
        threshold = _otsu(line)
        line = line.point(lambda value: 255 if value > threshold else 0)
    line = ImageOps.expand(line, border=BORDER, fill=255)
    words = as_digits(recognise(line, LINE_PAGE_MODE))
    return [ScreenNumber(n.number, _unscaled(n.box, scale).moved(0, top)) for n in locate_numbers(words, region)]


def _otsu(gray: Image.Image) -> int:
    """The gray level that best splits `gray` into ink and background (Otsu's method)."""
    histogram = gray.histogram()[:256]
    total = sum(histogram)
    weighted_all = sum(level * count for level, count in enumerate(histogram))
    below = weighted_below = 0
    best, threshold = -1.0, 128
    for level, count in enumerate(histogram):
        below += count
        weighted_below += level * count
        above = total - below
        if not below or not above:
            continue
        gap = weighted_below / below - (weighted_all - weighted_below) / above
        spread = below * above * gap * gap
        if spread > best:
            best, threshold = spread, level
    return threshold


def _at_point(found: Sequence[ScreenNumber], point: tuple[float, float], band: tuple[int, int]) -> ScreenNumber | None:
    """The number a read offers at the point (the nearest, within a line's height of it), if any."""
    nearest = min(found, key=lambda n: n.box.distance(*point), default=None)
    return nearest if nearest is not None and nearest.box.distance(*point) <= band[1] - band[0] else None


_DIGIT_LOOKALIKES = str.maketrans(
    {"O": "0", "o": "0", "D": "0", "Q": "0", "l": "1", "I": "1", "i": "1", "L": "1", "f": "1"}
    | {"S": "5", "s": "5", "B": "8", "Z": "2", "z": "2", "{": "(", "}": ")", "[": "(", "]": ")"}
    | {"G": "0", "@": "0", "©": "0", "®": "0"}  # a dotted or slashed zero (Liberation Mono, Consolas)
)
_DIGIT_OR_LOOKALIKE = r"[\dOoDQlIiLfSsBZzG@©®]"
_DIGITISH = re.compile(
    rf"[#+]?[(\[{{]?{_DIGIT_OR_LOOKALIKE}+[)\]}}]?{_DIGIT_OR_LOOKALIKE}*(?:[-.]{_DIGIT_OR_LOOKALIKE}+)*[)\]}}]?"
)


def as_digits(words: Sequence[OcrWord]) -> list[OcrWord]:
    """`words` with the letters tesseract reads for digits put back as digits, where a word is a digit group.

    A word made only of digits and their lookalikes (O for 0, l/I for 1, S for 5, B for 8, braces for
    brackets, `#` for a leading `+`) is read as digits when it holds at least two real digits, or when it is
    at most two characters long right before a word that begins with a digit (`OL 42 68 53 06`). Other
    words (names, `ext`, `x12`) are left alone; the number parser judges the result as any other text.
    A short label tesseract glued to a digit group (`T0113` for `T. 0113`, small text loses its narrow
    spaces) is read as two words first.
    """
    words = [part for word in words for part in _unglued(word)]
    fixed: list[OcrWord] = []
    for index, word in enumerate(words):
        following = words[index + 1] if index + 1 < len(words) and words[index + 1].line == word.line else None
        body, tail = word.text, ""
        while len(body) > 1 and body[-1] in ".,:;!|":
            body, tail = body[:-1], body[-1] + tail
        digits = sum(c.isdigit() for c in body)
        before_digits = following is not None and following.text[:1].isdigit()
        if _DIGITISH.fullmatch(body) and (digits >= 2 or (digits == 0 and len(body) <= 2 and before_digits)):
            body = ("+" + body[1:] if body.startswith("#") else body).translate(_DIGIT_LOOKALIKES)
            word = OcrWord(body + tail, word.box, word.line)
        previous = fixed[-1] if fixed and fixed[-1].line == word.line else None
        if previous is not None and _split_group(previous.text, word.text):
            union = Box(
                min(previous.box.left, word.box.left),
                min(previous.box.top, word.box.top),
                max(previous.box.right, word.box.right),
                max(previous.box.bottom, word.box.bottom),
            )
            fixed[-1] = OcrWord(previous.text + word.text, union, word.line)
            continue
        fixed.append(word)
    return fixed


_GLUED_LABEL = re.compile(
    rf"([A-Za-z]{{1,3}}[.:]?)((?:[(\[{{]?0|\+){_DIGIT_OR_LOOKALIKE}*\d{_DIGIT_OR_LOOKALIKE}*\d.*)"
)
"""A label of up to three letters (`T`, `Tel`, `M:`) glued to what begins like a national (`0…`, `(0…`) or an
international (`+…`) number with at least two real digits; an extension marker (`x97`, `ext12`) does not."""


def _unglued(word: OcrWord) -> list[OcrWord]:
    """`word`, or a label glued to a number's first group (`T0113`) as two words, the box shared by characters."""
    glued = _GLUED_LABEL.fullmatch(word.text)
    if glued is None:
        return [word]
    label, rest = glued.groups()
    box = word.box
    cut = box.left + round((box.right - box.left) * len(label) / len(word.text))
    return [
        OcrWord(label, Box(box.left, box.top, cut, box.bottom), word.line),
        OcrWord(rest, Box(cut, box.top, box.right, box.bottom), word.line),
    ]


def _split_group(before: str, after: str) -> bool:
    """Whether tesseract put a space inside one number's separator (`0161. 496`, `7946 .0789`, `496 - 0881`)."""
    if before[-1:] in ".-" and before[:-1][-1:].isdigit():
        return after[:1].isdigit() or after in ("-", ".")
    return before[-1:].isdigit() and (after in ("-", ".") or (after[:1] in ".-" and after[1:2].isdigit()))


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
