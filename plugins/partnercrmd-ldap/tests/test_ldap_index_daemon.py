"""The LDAP number index in a real `partnercrmd serve` process, as slapd itself sees it.

slapd logs every operation (`Slapd(stats=True)`); the daemon is the real command
(tests/daemon_process.py of the partnercrmd repository), configured with the real CLI. A known
caller must cost slapd one base-scope read of the caller's entry, also after the daemon restarted.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ldap_test_support import running_slapd
from slapd_server import PEOPLE, SERVICE_DN, SERVICE_PASSWORD, SUFFIX, Slapd

REPOSITORY = Path(__file__).resolve().parents[3]
if str(REPOSITORY) not in sys.path:  # the black-box helpers live in the repository's own tests
    sys.path.insert(0, str(REPOSITORY))

from tests.daemon_process import Daemon, collection_of, display_texts, run_cli  # noqa: E402

DANA = f"cn=Dana Whitfield,{PEOPLE}"
BASE, SUBTREE = 0, 2


@pytest.fixture
def logged_slapd(tmp_path: Path) -> Iterator[Slapd]:
    with running_slapd(tmp_path / "slapd", stats=True) as server:
        yield server


MARKER = "searches-since-marker"
"""The filter value of the test's own search that closes each window of searches_since."""


def searches_since(server: Slapd, seen: int) -> list[tuple[str, int]]:
    """(base, scope) of the searches slapd logged after the first `seen`, up to now.

    The daemon's searches ended before its answer came, so slapd logged them before a search the test sends
    afterwards: the window is closed by that marker search, waited for (polling, at most 10 s) in the log.
    """
    server.ldapsearch(SUFFIX, f"(cn={MARKER})", "cn")
    deadline = time.monotonic() + 10
    while True:
        logged = server.searches()[seen:]
        end = next((i for i, s in enumerate(logged) if MARKER in s.filter.lower()), None)
        if end is not None:
            return [(s.base.lower(), s.scope) for s in logged[:end]]
        assert time.monotonic() < deadline, "slapd did not log the marker search within 10 s"
        time.sleep(0.02)


def test_a_known_caller_costs_slapd_one_base_read_also_after_a_daemon_restart(
    logged_slapd: Slapd, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    settings = {"url": logged_slapd.url, "bind_dn": SERVICE_DN, "password": SERVICE_PASSWORD, "base_dn": SUFFIX}
    sets = [arg for key, value in settings.items() for arg in ("--set", f"{key}={value}")]
    added = run_cli(home, "books", "add", "ldap", "--name", "Directory", *sets)
    assert added.returncode == 0, added.stderr
    daemon = Daemon(home)
    try:
        daemon.start()
        app_id = daemon.register_trusted()
        [book_id] = [b["AddinId"] for b in daemon.address_books(app_id) if b["Name"] == "Directory"]
        first = collection_of(daemon.search(app_id, "+44 20 7946 0958"), book_id)
        assert display_texts(first) == ["Dana Whitfield"] and first["ExceptionText"] == ""
        fill = [s for s in logged_slapd.searches() if s.scope == SUBTREE and "inetorgperson" in s.filter.lower()]
        assert fill, "the first search fills the index with a subtree listing of the contacts"

        seen = len(logged_slapd.searches())
        assert display_texts(collection_of(daemon.search(app_id, "02079460958"), book_id)) == ["Dana Whitfield"]
        assert searches_since(logged_slapd, seen) == [(DANA.lower(), BASE)]

        daemon.stop()
        daemon.start()
        seen = len(logged_slapd.searches())
        again = collection_of(daemon.search(app_id, "(0)20-7946-0958"), book_id)
        assert display_texts(again) == ["Dana Whitfield"]
        assert searches_since(logged_slapd, seen) == [(DANA.lower(), BASE)]  # the index survived the restart
    finally:
        daemon.close()
