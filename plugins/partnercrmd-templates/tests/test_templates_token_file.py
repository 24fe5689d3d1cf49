"""The OAuth token file is written through the SDK's `atomic_write` (issue #15 item 9): whole, private, no temp left."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from partnercrmd_templates.auth import Tokens, TokenStore


def test_the_templates_addins_token_file_is_written_whole_and_private(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "book")
    store.write(Tokens(access_token="a" * 40, expires_at=1.0, refresh_token="r", seed="s"))
    assert store.read().access_token == "a" * 40
    assert os.listdir(tmp_path / "book") == [store.path.name]  # no temp file left beside it
    if sys.platform != "win32":
        assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
