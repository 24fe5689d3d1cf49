"""What the benchmarks here share: their section of docs/performance.md, child daemons, percentiles."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import platform
import sys
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

import partnercrmd

T = TypeVar("T")

DOC = Path(__file__).resolve().parents[1] / "docs" / "performance.md"


def write_section(begin: str, end: str, section: str, *, heading: str = "", doc: Path = DOC) -> None:
    """Replace the text between `begin` and `end` in `doc` (docs/performance.md) in one read-modify-write.

    The first time (markers absent) the block is appended, after `heading` if given; the rest of the file
    (other benchmarks' sections, the prose around them) is kept as it is.
    """
    block = f"{begin}\n{section}\n{end}"
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Performance\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        lead = f"\n\n{heading}\n" if heading else "\n"
        text = text.rstrip("\n") + f"{lead}\n{block}\n"
    doc.write_text(text, encoding="utf-8")


class BenchError(Exception):
    """The benchmark could not measure what it should (the daemon failed or answered wrongly)."""


def measure_and_report(
    name: str,
    measure: Callable[[Path], T],
    report: Callable[[T], str],
    *,
    write: bool,
    marks: tuple[str, str],
    heading: str,
) -> int:
    """A benchmark's main: measure in a fresh temporary folder, print the report, write it into the docs if asked.

    Returns the exit status: 1 (with the reason on stderr) when the benchmark could not measure.
    """
    with tempfile.TemporaryDirectory(prefix=f"partnercrmd-{name}-") as temp:
        try:
            results = measure(Path(temp))
        except BenchError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            return 1
    section = report(results)
    print(section)
    if write:
        write_section(*marks, section, heading=heading)
    return 0


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(pct / 100 * len(ordered))) - 1]


def tail(path: Path, lines: int = 30) -> str:
    """The end of a log, for error messages."""
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


async def read_json_line(process: asyncio.subprocess.Process, within: float) -> dict[str, Any]:
    """The next JSON line a child daemon writes, waiting at most `within` seconds."""
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), within)
    if not line:
        raise BenchError("the daemon closed its output")
    message: dict[str, Any] = json.loads(line)
    return message


async def register(base: str, app_id: str, token: str, name: str) -> None:
    """POST Register with the install token: approved at once."""
    async with aiohttp.ClientSession() as session:
        response = await session.post(
            f"{base}/Register", data={"Name": name, "Id": app_id}, headers={"Authorization": f"Bearer {token}"}
        )
        if response.status != 204:
            raise BenchError(f"Register answered {response.status}: {await response.text()}")


async def end_child(process: asyncio.subprocess.Process, within: float) -> None:
    """Ask a child daemon to stop (`stop` on its stdin), kill it after `within` seconds."""
    if process.returncode is not None:
        return
    if process.stdin is not None:
        with contextlib.suppress(OSError):
            process.stdin.write(b"stop\n")
            process.stdin.close()
    try:
        await asyncio.wait_for(process.wait(), within)
    except TimeoutError:
        process.kill()
        await process.wait()


def cpu_model() -> str:
    """The CPU's model name as /proc/cpuinfo gives it (else what the platform module knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run_facts(*versions: str) -> str:
    """A figures section's "Run:" line: when, the CPUs, Python and the OS, the `versions` given, partnercrmd's."""
    return "; ".join(
        [
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            f"{os.cpu_count()} CPUs ({cpu_model()})",
            f"Python {platform.python_version()} on {platform.system()} {platform.release()}",
            *versions,
            f"partnercrmd {partnercrmd.__version__}",
        ]
    )
