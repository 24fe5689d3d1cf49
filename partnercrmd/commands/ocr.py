"""`partnercrmd ocr IMAGE`: print the phone numbers read from an image, through the screen-read pipeline."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import BadRequest, ConfigError, NotFound
from ..paths import Paths


def cmd_ocr(args: argparse.Namespace, paths: Paths) -> int:
    from ..config import region_from_locale
    from ..dialling.platform_support import ocr_modules_problem

    problem = ocr_modules_problem()
    if problem:
        raise ConfigError(problem)
    from PIL import Image, UnidentifiedImageError

    from ..dialling.screen import numbers_in_image, prefer_single_threaded_tesseract

    path = Path(args.image)
    if not path.is_file():
        raise NotFound(f"No such file: {path}")
    try:
        with Image.open(path) as opened:
            image = opened.copy()
    except (UnidentifiedImageError, OSError):
        raise BadRequest(f"{path.name} is not an image that can be read (PNG, JPEG, BMP, TIFF…).") from None
    prefer_single_threaded_tesseract()
    for found in numbers_in_image(image, (args.region or region_from_locale()).upper()):
        number = found.number
        print(number.e164 + (f";ext={number.extension}" if number.extension else ""))
    return 0


def add_parser(sub: Any) -> None:
    ocr = sub.add_parser("ocr", help="print every phone number read (OCR) in an image file, as E.164")
    ocr.add_argument("image", help="a screenshot or any image (PNG, JPEG…)")
    ocr.add_argument("--region", help="region for numbers without a country code, e.g. GB")
    ocr.set_defaults(func=cmd_ocr)
