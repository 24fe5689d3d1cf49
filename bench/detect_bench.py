#!/usr/bin/env python3
"""Number detection benchmark: throughput on 1 MB of mixed text against libphonenumber's plain matcher.

    python bench/detect_bench.py            # 3 rounds (about a minute)
    python bench/detect_bench.py --quick    # 1 round
    python bench/detect_bench.py --write    # also replace the detection section of docs/performance.md

The text (seeded, so every run scans the same characters) mixes what people
copy or look at: prose, e-mail signatures, CSV exports, log lines, chat and
documents full of dates, prices, ids, IPs, card and tracking numbers, with a
known set of distinct phone numbers planted in them, written the way a reader
in GB, and in a second text a reader in the US, sees them. Each text is scanned
with its region by:

- `find_numbers` (partnercrmd.dialling.detect), the detector every technique uses;
- baseline: `phonenumbers.PhoneNumberMatcher(text, region, leniency=VALID)` over the
  whole text with its defaults, the plain way to use the library;
- for context, the same matcher with `min_candidate_length=7` and an unlimited
  `max_tries` (the settings the design notes, CLICK_TO_DIAL.md, recommend), still over the whole text.

Rounds alternate the scanners and texts so that other load on the machine
affects them alike; the median of the rounds is reported. Precision and recall come from the
planted text and from the detection corpus (tests/data/detection_corpus.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import phonenumbers
from benchlib import DOC, write_section
from phonenumbers import Leniency, PhoneNumberFormat, PhoneNumberMatcher

import partnercrmd
from partnercrmd.dialling.detect import find_numbers

REGIONS = ("GB", "US")
SIZE = 1_000_000
SEED = 20261125
SCRIPT = Path(__file__).resolve()
REPO = SCRIPT.parent.parent
CORPUS = REPO / "tests" / "data" / "detection_corpus.json"
BEGIN_MARK = "<!-- detection:begin -->"
END_MARK = "<!-- detection:end -->"

# --- the mixed text -------------------------------------------------------------------------------------------------

PROSE = (
    "the of and to in a is that for it as was with be by on not he this are or his from at which but have an they "
    "you were her she there been one all we their has would when if so no will more can who about up said out what "
    "meeting project report budget customer service delivery quarter team review contract please thanks regards "
    "tomorrow schedule agenda update invoice payment office support account market growth plan"
)
WORDS = PROSE.split()
FIRST = ["Sarah", "Tom", "Priya", "Michael", "Anna", "Liam", "Emma", "Raj", "Jane", "Marc", "Lucía", "Klaus"]
LAST = ["Whitfield", "Archer", "Sharma", "Chen", "Meier", "O'Brien", "Clarke", "Patel", "Doe", "Tremblay", "Becker"]
TITLES = ["Account Director", "Service Desk Lead", "Head of Finance", "Sales Manager", "Operations Manager"]


def gb_styles(n: int) -> list[tuple[str, str]]:
    """A GB reader's numbers: Ofcom drama ranges written nationally and internationally, mobiles, a few foreign."""
    four = f"{n % 10000:04d}"
    return [
        (f"020 7946 {four}", f"+44207946{four}"),
        (f"+44 (0)161 496 {four}", f"+44161496{four}"),
        (f"0113 496 {four}", f"+44113496{four}"),
        (f"07400 {100000 + n:06d}", f"+447400{100000 + n:06d}"),
        (f"+1 212-555-{four}", f"+1212555{four}"),
        (f"+49 30 9018{four}", f"+49309018{four}"),
    ]


def us_styles(n: int) -> list[tuple[str, str]]:
    """A US reader's numbers: 555 numbers in the usual writings, and a few foreign ones."""
    four = f"{n % 10000:04d}"
    area = ("212", "312", "415", "617", "202")[n // 10000 % 5]
    return [
        (f"({area}) 555-{four}", f"+1{area}555{four}"),
        (f"{area}-555-{four}", f"+1{area}555{four}"),
        (f"{area}.555.{four}", f"+1{area}555{four}"),
        (f"+1 {area} 555 {four}", f"+1{area}555{four}"),
        (f"1-{area}-555-{four}", f"+1{area}555{four}"),
        (f"+44 20 7946 {four}", f"+44207946{four}"),
    ]


STYLES: dict[str, Callable[[int], list[tuple[str, str]]]] = {"GB": gb_styles, "US": us_styles}


class Numbers:
    """Distinct fictional numbers for one region's reader, each in one of that region's writing styles."""

    def __init__(self, region: str) -> None:
        self.styles = STYLES[region]
        self.count = 0
        self.planted: list[str] = []

    def next(self, rng: random.Random) -> str:
        n = self.count
        self.count += 1
        styles = self.styles(n)
        written, e164 = styles[(n // 10000 + n) % len(styles)]
        if not phonenumbers.is_valid_number(phonenumbers.parse(e164, None)):
            raise ValueError(f"not a valid number: {e164}")
        self.planted.append(e164)
        return written


def prose(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 120))).capitalize() + "."


def signature(rng: random.Random, numbers: Numbers) -> str:
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    return (
        f"Kind regards,\n{name}\n{rng.choice(TITLES)} | Example Ltd\n"
        f"T: {numbers.next(rng)} | M: {numbers.next(rng)}\n"
        f"12 Hanover Square, London W1S 1JY. Registered in England No. {rng.randint(1000000, 9999999):08d}."
    )


def csv_rows(rng: random.Random, numbers: Numbers) -> str:
    rows = ["order_id,date,amount,customer,phone"]
    for _ in range(rng.randint(3, 8)):
        rows.append(
            f"{rng.randint(10**9, 10**10 - 1)},2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d},"
            f"{rng.randint(1, 999)}.{rng.randint(0, 99):02d},{rng.choice(LAST)},{numbers.next(rng)}"
        )
    return "\n".join(rows)


def log_lines(rng: random.Random) -> str:
    lines = []
    for _ in range(rng.randint(5, 15)):
        lines.append(
            f"2024-03-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:"
            f"{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d}Z INFO request_id={rng.randint(10**9, 10**10 - 1)} "
            f"user={rng.randint(1, 99999)} ip=192.168.{rng.randint(0, 255)}.{rng.randint(0, 255)} "
            f"latency_ms={rng.randint(1, 2000)} GET /api/orders/{rng.randint(10**9, 10**10 - 1)} 200"
        )
    return "\n".join(lines)


def chat(rng: random.Random, numbers: Numbers) -> str:
    return (
        f"[15/03/2024, {rng.randint(8, 20)}:{rng.randint(0, 59):02d}] {rng.choice(FIRST)}: can you ring me on "
        f"{numbers.next(rng)} after {rng.randint(1, 9)}? the ticket is {rng.randint(10**9, 10**10 - 1)} btw"
    )


def document(rng: random.Random, numbers: Numbers) -> str:
    amount = f"£{rng.randint(1, 99)},{rng.randint(0, 999):03d}.{rng.randint(0, 99):02d}"
    tracking = f"9400 1000 0000 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)} 00"
    return (
        f"Invoice INV-2024-{rng.randint(1, 9999):04d}, dated {rng.randint(1, 28)}/03/2024, amount due {amount}. "
        f"Order {rng.randint(10**9, 10**10 - 1)} shipped; tracking {tracking}. Card 4111 1111 1111 1111, "
        f"IBAN GB29 NWBK 6016 1331 9268 19, ISBN 978-0-306-40615-7, version 4.15.555.{rng.randint(1000, 9999)}, "
        f"location 51.507351, -0.127758. Questions about this invoice? Call our accounts team on {numbers.next(rng)}."
    )


def mixed_text(region: str, size: int, seed: int) -> tuple[str, list[str]]:
    """About `size` characters of mixed text for a reader in `region`, and the phone numbers planted in it."""
    rng = random.Random(seed)
    numbers = Numbers(region)
    blocks: list[str] = []
    length = 0
    makers: list[tuple[float, Callable[[], str]]] = [
        (0.45, lambda: prose(rng)),
        (0.10, lambda: signature(rng, numbers)),
        (0.10, lambda: csv_rows(rng, numbers)),
        (0.15, lambda: log_lines(rng)),
        (0.10, lambda: chat(rng, numbers)),
        (0.10, lambda: document(rng, numbers)),
    ]
    weights = [w for w, _ in makers]
    while length < size:
        block = rng.choices([m for _, m in makers], weights)[0]()
        blocks.append(block)
        length += len(block) + 2
    return "\n\n".join(blocks), numbers.planted


# --- measuring ------------------------------------------------------------------------------------------------------


@dataclass
class Run:
    seconds: list[float]
    found: list[str]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def detector(text: str, region: str) -> list[str]:
    return [f.e164 for f in find_numbers(text, region)]


def plain(text: str, region: str) -> list[str]:
    return [e164(m.number) for m in PhoneNumberMatcher(text, region, leniency=Leniency.VALID)]


def tuned(text: str, region: str) -> list[str]:
    matcher = PhoneNumberMatcher(text, region, leniency=Leniency.VALID, max_tries=len(text), min_candidate_length=7)
    return [e164(m.number) for m in matcher]


SCANNERS: dict[str, tuple[str, Callable[[str, str], list[str]]]] = {
    "detector": ("`find_numbers` (context rules, line by line)", detector),
    "plain": ("`PhoneNumberMatcher`, defaults (baseline)", plain),
    "tuned": ("`PhoneNumberMatcher`, `min_candidate_length=7`, unlimited `max_tries`", tuned),
}


@dataclass
class Text:
    region: str
    text: str
    planted: list[str]
    runs: dict[str, Run]


def measure(texts: list[Text], rounds: int) -> None:
    """Scan every text with every scanner, `rounds` times, alternating scanners and texts."""
    for _ in range(rounds):
        for text in texts:
            for name, (_, scan) in SCANNERS.items():
                started = time.perf_counter()
                found = scan(text.text, text.region)
                run = text.runs.setdefault(name, Run([], []))
                run.seconds.append(time.perf_counter() - started)
                run.found = found


@dataclass
class Quality:
    precision: float
    recall: float
    right: int
    wrong: int
    missed: int


def quality(found: Sequence[str], expected: Sequence[str]) -> Quality:
    right = len(set(found) & set(expected))
    wrong = len(set(found) - set(expected))
    missed = len(set(expected) - set(found))
    return Quality(right / max(1, right + wrong), right / max(1, right + missed), right, wrong, missed)


def corpus_quality() -> tuple[int, Quality]:
    snippets = json.loads(CORPUS.read_text(encoding="utf-8"))["snippets"]
    right = wrong = missed = 0
    for snippet in snippets:
        found = {
            f.e164 + (f";ext={f.extension}" if f.extension else "")
            for f in find_numbers(snippet["text"], snippet["region"])
        }
        expected = set(snippet["expected"])
        right, wrong, missed = (
            right + len(found & expected),
            wrong + len(found - expected),
            missed + len(expected - found),
        )
    return len(snippets), Quality(right / max(1, right + wrong), right / max(1, right + missed), right, wrong, missed)


# --- report ---------------------------------------------------------------------------------------------------------


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return " ".join(line.split(":", 1)[1].split()[:2])
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def report(texts: list[Text], rounds: int, load: tuple[float, float]) -> str:
    count, corpus = corpus_quality()
    first = texts[0]
    lines = [
        "## Number detection",
        "",
        "Measured by `bench/detect_bench.py`: detection throughput on about 1 MB of mixed text per region, against "
        "libphonenumber's plain matcher over the same text in the same run. Run it with `python bench/detect_bench.py` "
        "(about a minute; `--quick`: 1 round; `--write` replaces this section).",
        "",
        f"Run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPUs ({cpu_name()}); Python "
        f"{platform.python_version()} on {platform.system()} {platform.release()}; phonenumbers "
        f"{phonenumbers.__version__}; partnercrmd {partnercrmd.__version__}; median of {rounds} rounds; load average "
        f"{load[0]:.2f} at the start, {load[1]:.2f} at the end.",
        "",
        f"**Text.** For each region {len(first.text):,} characters ({len(first.text.encode()) / 1e6:.2f} MB as UTF-8, "
        f"{first.text.count(chr(10)) + 1:,} lines), seeded: prose (45 % of the blocks), e-mail signatures, CSV exports "
        "with 10-digit order ids, log lines (timestamps, IPs, request ids, URL paths), chat messages with 10-digit "
        "ticket numbers, and invoices with dates, amounts, order, tracking, card, IBAN and ISBN numbers, version "
        "strings and coordinates. Distinct phone numbers are planted in the way a reader in that region sees them "
        "(GB: national and `+44 (0)` forms, mobiles, a few foreign numbers; US: `(212) 555-…`, `212-555-…`, "
        "`212.555.…`, `+1 …`, `1-212-…`, a few foreign numbers). The whole text is given to each scanner at once; "
        "scanners and regions alternate in each round. *Throughput ratio*: the scanner's MB/s over the baseline's "
        "in the same region; *numbers/s*: numbers offered per second, right or wrong; *planted found*: recall on the "
        "planted numbers; *offered, not planted*: ids, dates and other non-numbers offered as phone numbers.",
        "",
        "| Region | Scanner | Median s | MB/s | Numbers/s | Throughput ratio | Planted found | Offered, not planted |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for text in texts:
        megabytes = len(text.text.encode("utf-8")) / 1e6
        baseline = text.runs["plain"]
        for name, (label, _) in SCANNERS.items():
            run = text.runs[name]
            q = quality(run.found, text.planted)
            lines.append(
                f"| {text.region} | {label} | {run.median:.2f} | {megabytes / run.median:.2f} "
                f"| {len(run.found) / run.median:,.0f} | {baseline.median / run.median:.2f} "
                f"| {q.right:,} of {len(text.planted):,} ({q.recall:.1%}) | {q.wrong:,} |"
            )
    lines += ["", *reading(texts)]
    summary = []
    for text in texts:
        mine = quality(text.runs["detector"].found, text.planted)
        summary.append(f"{text.region}: precision {mine.precision:.4f}, recall {mine.recall:.4f}")
    lines += [
        "",
        f"`find_numbers` on the planted texts: {'; '.join(summary)}. **Detection corpus** ({count} snippets in "
        f"{corpus_regions()} regions, `tests/data/detection_corpus.json`, the figures `tests/test_detect.py` asserts): "
        f"precision {corpus.precision:.4f}, recall {corpus.recall:.4f} ({corpus.right} right, {corpus.wrong} wrong, "
        f"{corpus.missed} missed).",
    ]
    return "\n".join(lines)


def reading(texts: list[Text]) -> Iterator[str]:
    """What the table shows, in words computed from this run's figures."""
    for text in texts:
        plain_q = quality(text.runs["plain"].found, text.planted)
        tuned_q = quality(text.runs["tuned"].found, text.planted)
        ratio = text.runs["plain"].median / text.runs["detector"].median
        said = [f"{text.region}: `find_numbers` ran {ratio:.1f} times as fast as the baseline"]
        if plain_q.missed > tuned_q.missed:
            said.append(
                f"the baseline stopped early and silently (its `max_tries` limit) and missed {plain_q.missed:,} "
                f"numbers that the same matcher finds with `min_candidate_length=7` and no limit"
            )
        if plain_q.wrong:
            said.append(
                f"the baseline offered {plain_q.wrong:,} other digit strings that are valid numbers for the region "
                "(request, order and ticket ids, ids in URL paths, version strings), which the context rules reject"
            )
        yield "; ".join(said) + "."
        yield ""
    yield (
        "`find_numbers` is faster than the matcher alone because it blanks out what can never be a number (addresses, "
        "dates, times, IPs, long digit runs) before the matcher sees it, and skips lines without digits; judging "
        "the candidates in context takes about a fifth of its time (profiled on these texts)."
    )


def corpus_regions() -> int:
    return len({s["region"] for s in json.loads(CORPUS.read_text(encoding="utf-8"))["snippets"]})


def write_doc(section: str) -> None:
    """Replace this benchmark's section of docs/performance.md."""
    write_section(BEGIN_MARK, END_MARK, section)


def checks(texts: list[Text]) -> Iterator[str]:
    for text in texts:
        mine = quality(text.runs["detector"].found, text.planted)
        if mine.missed or mine.wrong:
            yield f"{text.region}: find_numbers missed {mine.missed} and wrongly offered {mine.wrong} planted numbers"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 round instead of 3")
    parser.add_argument(
        "--write", action="store_true", help=f"replace the detection section of {DOC.relative_to(REPO)}"
    )
    args = parser.parse_args(argv)
    rounds = 1 if args.quick else 3
    start_load = os.getloadavg()[0]
    texts = [Text(region, *mixed_text(region, SIZE, SEED), {}) for region in REGIONS]
    measure(texts, rounds)
    section = report(texts, rounds, (start_load, os.getloadavg()[0]))
    print(section)
    problems = list(checks(texts))
    if problems:
        print("detect_bench: figures not written:", *problems, sep="\n  ", file=sys.stderr)
        return 1
    if args.write:
        write_doc(section)
        print(f"\nwrote {DOC.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
