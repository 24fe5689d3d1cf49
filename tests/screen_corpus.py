"""A render corpus of what office and CRM screens show around a phone number, for screen-read dialling.

Each `Case` is one capture box, rendered with Pillow at device pixels, deterministically from
its seed: a line of a list, form or table with a number under the pointer (and, on a busy line,
other words, punctuation, table borders or a second number), the rows above and below it, in
one font, style, size, display scaling, rendering and theme. The case knows its truth: the
E.164 number under the pointer and every number on its line.

Used by `bench/screen_read_corpus_bench.py` (every case, figures per axis) and
`tests/test_screen_read_corpus.py` (a fixed small subset). Axes and their values are `AXES`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import phonenumbers
from PIL import Image, ImageDraw, ImageFont

from partnercrmd.dialling.screen import CAPTURE_HEIGHT, CAPTURE_WIDTH

REGION = "GB"
SEED = 20261207
FONT_DIRS = (Path("/usr/share/fonts/truetype/liberation"), Path("/usr/share/fonts/truetype/dejavu"))
FONTS: dict[str, dict[str, str]] = {
    "Liberation Sans": {
        "regular": "LiberationSans-Regular.ttf",
        "bold": "LiberationSans-Bold.ttf",
        "italic": "LiberationSans-Italic.ttf",
    },
    "Liberation Serif": {
        "regular": "LiberationSerif-Regular.ttf",
        "bold": "LiberationSerif-Bold.ttf",
        "italic": "LiberationSerif-Italic.ttf",
    },
    "Liberation Mono": {
        "regular": "LiberationMono-Regular.ttf",
        "bold": "LiberationMono-Bold.ttf",
        "italic": "LiberationMono-Italic.ttf",
    },
    "DejaVu Sans": {
        "regular": "DejaVuSans.ttf",
        "bold": "DejaVuSans-Bold.ttf",
        "italic": "DejaVuSans-Oblique.ttf",
    },
}
"""Liberation Sans, Serif and Mono have the metrics of Arial, Times New Roman and Courier New."""
STYLES = ("regular", "bold", "italic")
SIZES = (9, 10, 11, 12, 13)
"""Text size in logical pixels (what an application asks for at 100 %)."""
SCALINGS = (100, 125, 150)
"""Display scaling: the text and the capture box are rendered at device pixels, `size × scaling`."""
RENDERINGS = ("grayscale", "subpixel", "none")
"""Grayscale antialiasing, subpixel (RGB stripes: colour fringes), or none (1-bit glyphs)."""
THEMES: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "light": ((255, 255, 255), (33, 33, 33)),
    "dark": ((30, 30, 30), (218, 218, 218)),
    "coloured row": ((255, 243, 205), (60, 50, 20)),
    "selection": ((51, 122, 215), (255, 255, 255)),
}
"""Background and text colour of the pointer's row; the other rows are in the page's colours (light or dark)."""
LINK_COLOURS = {"light": (6, 69, 173), "dark": (138, 180, 248)}
DECORATIONS = ("plain", "underlined link")
BUSY = ("alone", "second number", "words and punctuation", "table borders")
FORMATS: dict[str, tuple[str, ...]] = {
    "national": ("020 7946 0{n3}", "0161 496 0{n3}", "07911 123{n3}", "0113 496 0{n3}"),
    "international": ("+44 20 7946 0{n3}", "+44 7911 123{n3}", "+33 1 42 68 53 {n2}", "+1 212 736 5{n3}"),
    "extension": ("020 7946 0{n3} ext. {x}", "+44 161 496 0{n3} x{x}", "0117 496 0{n3} ext {x}"),
    "dots": ("020.7946.0{n3}", "+1 212.736.5{n3}", "0161.496.0{n3}"),
    "dashes": ("0121-496-0{n3}", "+1-212-736-5{n3}", "020-7946-0{n3}"),
    "brackets": ("(0113) 496 0{n3}", "+44 (0)117 496 0{n3}", "(020) 7946 0{n3}", "+1 (212) 736-5{n3}"),
}
"""UK numbers from Ofcom's ranges for drama; French, German and US ones in the shapes their users write."""
OTHER_NUMBERS = ("07911 123{n3}", "0161 496 0{n3}", "+44 20 7946 0{n3}", "0113 496 0{n3}")
NAMES = ("Ada Byrne", "Sam Okafor", "Priya Nair", "Tom Lind", "Ines Costa", "Marek Novak", "Lea Brandt", "Joe Hart")
WORDS = ("Account manager", "Support desk", "Head office", "Accounts", "Reception", "Sales team", "Billing")
LABELS = ("Tel:", "Phone", "Mobile:", "Call", "Direct line:", "T.", "Switchboard")
AFTER = (", ask for {name}.", " (office hours)", "; fax on request", " - {name}", ".", "!")

AXES = {
    "font": tuple(FONTS),
    "style": STYLES,
    "size": tuple(f"{s} px" for s in SIZES),
    "scaling": tuple(f"{s} %" for s in SCALINGS),
    "rendering": RENDERINGS,
    "theme": tuple(THEMES),
    "decoration": DECORATIONS,
    "busy line": BUSY,
    "format": tuple(FORMATS),
}
"""Each axis and its values, in the order the figures list them."""


@dataclass(frozen=True)
class Case:
    """One capture box: how it is drawn and what is at the pointer."""

    seed: int
    font: str
    style: str
    size: int
    scaling: int
    rendering: str
    theme: str
    decoration: str
    busy: str
    format: str

    def axis(self, name: str) -> str:
        """This case's value on axis `name` (as in AXES)."""
        values = {
            "font": self.font,
            "style": self.style,
            "size": f"{self.size} px",
            "scaling": f"{self.scaling} %",
            "rendering": self.rendering,
            "theme": self.theme,
            "decoration": self.decoration,
            "busy line": self.busy,
            "format": self.format,
        }
        return values[name]

    def __str__(self) -> str:
        return (
            f"#{self.seed}: {self.font} {self.style} {self.size} px at {self.scaling} %, {self.rendering}, "
            f"{self.theme}, {self.decoration}, {self.busy}, {self.format}"
        )


@dataclass(frozen=True)
class Rendered:
    """A case drawn: the capture box's pixels, the pointer in them, and the truth."""

    case: Case
    image: Image.Image
    point: tuple[int, int]
    number_text: str
    e164: str
    """The number under the pointer (with `;ext=` for an extension)."""
    line_numbers: tuple[str, ...]
    """Every number on the pointer's line, as E.164 (with `;ext=`), the pointer's first."""
    text_height: int
    """The text size in device pixels."""


def cases(count: int, seed: int = SEED) -> list[Case]:
    """`count` cases, every axis value equally often (each axis cycles through a seeded shuffle of its values)."""
    chooser = random.Random(seed)  # noqa: S311  (a reproducible corpus, not a secret)
    columns: list[list[object]] = []
    for values in (tuple(FONTS), STYLES, SIZES, SCALINGS, RENDERINGS, tuple(THEMES), DECORATIONS, BUSY, FORMATS):
        column: list[object] = []
        while len(column) < count:
            block = list(values)
            chooser.shuffle(block)
            column += block
        chooser.shuffle(column)
        columns.append(column[:count])
    return [Case(seed + i, *row) for i, row in enumerate(zip(*columns, strict=True))]


def e164_of(text: str) -> str:
    """The E.164 form of a number as written (GB for national numbers), with `;ext=` for an extension."""
    parsed = phonenumbers.parse(text, REGION)
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return f"{e164};ext={parsed.extension}" if parsed.extension else e164


def _fill(pattern: str, chooser: random.Random) -> str:
    return pattern.format(
        n3=f"{chooser.randrange(1000):03d}", n2=f"{chooser.randrange(100):02d}", x=chooser.randrange(10, 999)
    )


@lru_cache(maxsize=64)
def _font(name: str, style: str, pixels: int) -> ImageFont.FreeTypeFont:
    filename = FONTS[name][style]
    path = next(d / filename for d in FONT_DIRS if (d / filename).is_file())
    return ImageFont.truetype(str(path), pixels)


@dataclass(frozen=True)
class _Run:
    text: str
    colour: tuple[int, int, int]
    underline: bool = False
    number: int | None = None
    """Index of the number this run shows on the line (0: the pointer's), None for other text."""


def _line(case: Case, chooser: random.Random) -> tuple[list[_Run], list[str]]:
    """The pointer's line as runs of text, and the numbers written on it (the pointer's first)."""
    colour = THEMES[case.theme][1]
    page = "dark" if case.theme == "dark" else "light"
    number_colour = colour
    if case.decoration == "underlined link" and case.theme not in ("selection", "coloured row"):
        number_colour = LINK_COLOURS[page]
    number = _fill(chooser.choice(FORMATS[case.format]), chooser)
    other = _fill(chooser.choice(OTHER_NUMBERS), chooser)
    while e164_of(other) == e164_of(number):
        other = _fill(chooser.choice(OTHER_NUMBERS), chooser)
    link = case.decoration == "underlined link"
    name = chooser.choice(NAMES)
    runs = [_Run(name + "    ", colour)]
    numbers = [number]
    if case.busy == "alone":
        runs = [_Run(name + "      ", colour), _Run(number, number_colour, link, 0)]
    elif case.busy == "words and punctuation":
        runs += [
            _Run(chooser.choice(LABELS) + " ", colour),
            _Run(number, number_colour, link, 0),
            _Run(chooser.choice(AFTER).format(name=name.split()[0]), colour),
        ]
    elif case.busy == "table borders":
        runs = [_Run(name, colour), _Run("|", colour), _Run(number, number_colour, link, 0), _Run("|", colour)]
        runs.append(_Run(chooser.choice(WORDS), colour))
    else:  # a second number on the line, before or after the pointer's
        numbers.append(other)
        pair = [
            _Run(number, number_colour, link, 0),
            _Run("   " + chooser.choice(("Mobile", "Fax", "or")) + " ", colour),
        ]
        pair.append(_Run(other, number_colour, link, 1))
        if chooser.random() < 0.5:
            pair = [_Run(other, number_colour, link, 1), _Run("  /  ", colour), _Run(number, number_colour, link, 0)]
        runs = [_Run(chooser.choice(LABELS) + " ", colour), *pair]
    return runs, numbers


def _draw_text(
    canvas: Image.Image,
    xy: tuple[float, float],
    text: str,
    font: ImageFont.FreeTypeFont,
    colour: tuple[int, int, int],
    rendering: str,
) -> None:
    """Draw `text` on `canvas` as the rendering does: grayscale coverage, 1-bit, or RGB subpixel stripes."""
    x, y = xy
    if rendering == "subpixel":
        # coverage at three times the horizontal resolution (drawn 3x in both directions, then squeezed
        # vertically); each third of a pixel lights one of R, G, B: the colour fringes of ClearType/FreeType LCD
        width, height = round(font.getlength(text)) + 4, round(font.size) * 2
        large = ImageFont.truetype(str(font.path), round(font.size) * 3)
        fine = Image.new("L", (width * 3, height * 3), 0)
        ImageDraw.Draw(fine).text((0, 0), text, font=large, fill=255)
        wide = fine.resize((width * 3, height), Image.Resampling.BOX)
        coverage = [
            wide.transform((width, height), Image.Transform.AFFINE, (3, 0, offset, 0, 1, 0), Image.Resampling.NEAREST)
            for offset in range(3)
        ]
        box = (round(x), round(y), round(x) + width, round(y) + height)
        bands = canvas.crop(box).split()
        out = [
            Image.composite(Image.new("L", band.size, value), band, cover)
            for band, cover, value in zip(bands, coverage, colour, strict=True)
        ]
        canvas.paste(Image.merge("RGB", out), box[:2])
        return
    draw = ImageDraw.Draw(canvas)
    if rendering == "none":
        draw.fontmode = "1"
    draw.text((x, y), text, font=font, fill=colour)


def render(case: Case) -> Rendered:
    """Draw `case`: the screen around its line, then the capture box of the real size around the pointer."""
    chooser = random.Random(case.seed)  # noqa: S311  (a reproducible corpus, not a secret)
    scale = case.scaling / 100
    pixels = round(case.size * scale)
    font = _font(case.font, case.style, pixels)
    row_height = round(pixels * 1.75)
    page = "dark" if case.theme == "dark" else "light"
    page_background, page_colour = THEMES[page]
    width, height = round(1400 * scale), round(row_height * 9)
    canvas = Image.new("RGB", (width, height), page_background)
    draw = ImageDraw.Draw(canvas)
    margin = round(chooser.randrange(20, 500) * scale)
    middle = 4
    runs, numbers = _line(case, chooser)
    pointer: tuple[int, int] = (0, 0)
    ascent, descent = font.getmetrics()
    for row in range(9):
        top = row * row_height
        text_y = top + (row_height - (ascent + descent)) // 2
        if row != middle:
            other_font = _font(case.font, case.style, pixels)
            status = chooser.choice(("12 Mar", "Open", "Closed", "VIP", "n/a"))
            filler = f"{chooser.choice(NAMES)}    {chooser.choice(WORDS)}    {status}"
            _draw_text(canvas, (margin, text_y), filler, other_font, page_colour, case.rendering)
            if case.busy == "table borders":
                draw.line((0, top, width, top), fill=(190, 190, 190) if page == "light" else (80, 80, 80))
            continue
        background, _ = THEMES[case.theme]
        draw.rectangle((0, top, width, top + row_height - 1), fill=background)
        x = float(margin)
        for run in runs:
            if run.text == "|":  # a table cell border: a vertical rule from the top of the row to its bottom
                rule_x = round(x + pixels * 0.6)
                grid = (190, 190, 190) if page == "light" else (80, 80, 80)
                draw.line((rule_x, top, rule_x, top + row_height), fill=grid, width=max(1, round(scale)))
                x += pixels * 1.2
                continue
            _draw_text(canvas, (x, text_y), run.text, font, run.colour, case.rendering)
            length = font.getlength(run.text)
            if run.underline:
                underline_y = text_y + ascent + max(1, round(scale))
                draw.line(
                    (round(x), underline_y, round(x + length), underline_y), fill=run.colour, width=max(1, round(scale))
                )
            if run.number == 0:
                # the pointer on one of the number's digits, where a user would hold it
                digits = [i for i, c in enumerate(run.text) if c.isdigit()]
                index = chooser.choice(digits[: len(digits) - 1] or digits)
                pointer = (round(x + font.getlength(run.text[:index]) + pixels * 0.3), text_y + (ascent * 2) // 3)
            x += length
        if case.busy == "table borders":
            grid = (190, 190, 190) if page == "light" else (80, 80, 80)
            draw.line((0, top, width, top), fill=grid)
            draw.line((0, top + row_height, width, top + row_height), fill=grid)
    box_width, box_height = round(CAPTURE_WIDTH * scale), round(CAPTURE_HEIGHT * scale)
    left = min(max(pointer[0] - box_width // 2, 0), width - box_width)
    top = min(max(pointer[1] - box_height // 2, 0), height - box_height)
    image = canvas.crop((left, top, left + box_width, top + box_height))
    truth = tuple(e164_of(n) for n in numbers)
    return Rendered(case, image, (pointer[0] - left, pointer[1] - top), numbers[0], truth[0], truth, pixels)


def rendered(selection: Sequence[Case]) -> Iterator[Rendered]:
    for case in selection:
        yield render(case)
