"""`partnercrmd numbers`: print the phone numbers found in the text on standard input, as E.164."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..paths import Paths


def cmd_numbers(args: argparse.Namespace, paths: Paths) -> int:
    from ..config import region_from_locale
    from ..dialling.detect import find_numbers

    region = (args.region or region_from_locale()).upper()
    for number in find_numbers(sys.stdin.read(), region):
        print(number.e164 + (f";ext={number.extension}" if number.extension else ""))
    return 0


def add_parser(sub: Any) -> None:
    numbers = sub.add_parser("numbers", help="print every phone number found in the text on standard input (E.164)")
    numbers.add_argument("--region", help="region for numbers without a country code, e.g. GB")
    numbers.set_defaults(func=cmd_numbers)
