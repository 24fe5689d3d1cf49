"""What every benchmark here shares: writing its own section of docs/performance.md."""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "performance.md"


def write_section(begin: str, end: str, section: str, *, heading: str = "") -> None:
    """Replace the text between `begin` and `end` in docs/performance.md in one read-modify-write.

    The first time (markers absent) the block is appended, after `heading` if given; the rest of the file
    (other benchmarks' sections, the prose around them) is kept as it is.
    """
    block = f"{begin}\n{section}\n{end}"
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Performance\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        lead = f"\n\n{heading}\n" if heading else "\n"
        text = text.rstrip("\n") + f"{lead}\n{block}\n"
    DOC.write_text(text, encoding="utf-8")
