"""The `log_file` fixture: what the daemon's log would hold, with its redaction, for tests that look for secrets."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from partnercrmd.redact import LOG_REDACTOR


@pytest.fixture
def log_file() -> Iterator[io.StringIO]:
    """What a handler of the daemon's (carrying LOG_REDACTOR, as the daemon's logging set-up attaches it) writes."""
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(LOG_REDACTOR)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield written
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
