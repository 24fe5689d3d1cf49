"""`parse_source` parses while garbage holding failed asyncio futures is collected (CPython 3.11's AST bug)."""

from __future__ import annotations

import ast
import asyncio
import gc
from collections.abc import Callable, Iterator
from pathlib import Path
from traceback import format_exception

import pytest

from tests.python_source import parse_source

SOURCE = (Path(__file__).resolve().parents[1] / "partnercrmd" / "books.py").read_text(encoding="utf-8")


class _Cycle:
    """Garbage only the cyclic collector frees."""

    def __init__(self, future: asyncio.Future[None]) -> None:
        self.future = future
        self.itself = self


@pytest.fixture
def leave_failed_futures() -> Iterator[Callable[[], None]]:
    """Leaves 20 failed futures nobody retrieved in cyclic garbage, with a collector eager to run: what the D-Bus test
    left before test_platform_boundary failed. When one is collected, asyncio reports it, and its report, like the
    default one ("Future exception was never retrieved"), formats the exception's traceback."""
    loop = asyncio.new_event_loop()
    reported: list[str] = []
    loop.set_exception_handler(lambda _, context: reported.append("".join(format_exception(context["exception"]))))
    threshold = gc.get_threshold()
    gc.set_threshold(50)

    def leave() -> None:
        for _ in range(20):
            future: asyncio.Future[None] = loop.create_future()
            try:
                raise BrokenPipeError(32, "Broken pipe")
            except BrokenPipeError as exc:
                future.set_exception(exc)
            _Cycle(future)

    try:
        yield leave
    finally:
        gc.set_threshold(*threshold)
        gc.collect()
        loop.close()
    assert reported and "BrokenPipeError" in reported[0]


def test_a_parse_is_not_broken_by_the_collector(leave_failed_futures: Callable[[], None]) -> None:
    for _ in range(10):
        leave_failed_futures()
        tree = parse_source(SOURCE, "books.py")
        assert any(isinstance(node, ast.ClassDef) and node.name == "BookManager" for node in tree.body)
    assert gc.isenabled()


def test_a_plain_parse_is_what_the_collector_breaks(leave_failed_futures: Callable[[], None]) -> None:
    """The reason for `parse_source`: on CPython 3.11 (what the project runs and CI tests) a plain `ast.parse` fails
    here. On a Python where it no longer does, the bug is fixed there: remove `parse_source` and this file."""
    failures = 0
    for _ in range(10):
        leave_failed_futures()
        try:
            ast.parse(SOURCE)
        except SystemError as exc:
            assert "recursion depth mismatch" in str(exc)
            failures += 1
    assert failures > 0
