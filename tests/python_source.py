"""Parsing Python source in the test process, safe from CPython 3.11's AST constructor bug.

CPython 3.11 keeps the AST constructor's recursion depth in one global. The cyclic garbage collector can run during a
parse (it allocates many objects), and a finalizer it runs may format a traceback: asyncio's "Future exception was
never retrieved" does, and 3.11 parses the source line to draw the carets under it. That inner parse moves the global,
and the outer one fails with "SystemError: AST constructor recursion depth mismatch" (python/cpython#106905 names
one cause of the message). A full suite run hit it: a D-Bus test left a failed future behind, collected during
test_platform_boundary's parse.
"""

from __future__ import annotations

import ast
import gc


def parse_source(source: str, filename: str = "<unknown>") -> ast.Module:
    """`ast.parse(source, filename)` with the collector held off while it parses (the garbage waits for its next run:
    collecting it first, in a process as large as the suite's, cost seconds per test that parses many files)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return ast.parse(source, filename)
    finally:
        if enabled:
            gc.enable()
