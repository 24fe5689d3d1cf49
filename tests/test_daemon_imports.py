"""What the daemon's start leaves out until it is needed (issue #18: start-up time and memory).

Importing the daemon and making its application is everything `partnercrmd serve` imports before its services
start; each check runs in a fresh Python process, so that what other tests imported does not count. What these
parts do once needed is tested where they are: HTTPS in test_tls.py, the pages in test_ui_http.py and the
browser tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

LATER = {
    "the certificate code (tls.py, X.509: 20 ms, 1 MiB) while HTTPS is off": ("partnercrmd.tls", "cryptography.x509"),
    "Jinja and aiohttp-jinja2 (15 ms, 2 MiB) until a page is drawn": ("jinja2", "aiohttp_jinja2"),
}


def imported_by_the_daemon(home: Path, *packages: str) -> list[str]:
    """The modules of `packages` imported with `partnercrmd.daemon` and an app made by `create_app`."""
    names = repr(packages)  # a tuple of names, as Python source
    code = (
        "import json, sys, partnercrmd.daemon\n"
        "from pathlib import Path\n"
        "from partnercrmd.app import create_app\n"
        "from partnercrmd.config import DaemonConfig\n"
        "from partnercrmd.paths import Paths\n"
        f"create_app(DaemonConfig(paths=Paths.under(Path({str(home)!r}))))\n"
        f"print(json.dumps(sorted(m for m in sys.modules if any(m == p or m.startswith(p + '.') for p in {names}))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


@pytest.mark.parametrize("what", sorted(LATER))
def test_the_daemon_starts_without(what: str, tmp_path: Path) -> None:
    assert imported_by_the_daemon(tmp_path, *LATER[what]) == []
