"""Pages open in a graphical browser, never in a text-mode one taking over a terminal (web_browser.py).

Each case but the last is a new Python process (webbrowser registers the browsers it finds once per process),
with TERM set and no display, and stand-in `links` and `w3m` commands on PATH that record being run: what
Python's `webbrowser.open` falls back to when the browsers before them fail. Found when this machine kind gained
Debian's text-mode browsers: `partnercrmd ui` then opened the configuration page in `links` in its terminal.
"""

from __future__ import annotations

import os
import subprocess
import sys
import webbrowser
from pathlib import Path

import pytest


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """`links` and `w3m` that note their run in RAN-NAME and succeed; `refuses` and `takes` as BROWSER commands."""
    folder = tmp_path / "bin"
    folder.mkdir()
    scripts = {"links": 0, "w3m": 0, "refuses": 1, "takes": 0}
    for name, status in scripts.items():
        script = folder / name
        script.write_text(f'#!/bin/sh\necho "$1" > "{tmp_path}/ran-{name}"\nexit {status}\n', encoding="utf-8")
        script.chmod(0o755)
    return folder


def open_page(bin_dir: Path, browser: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER")}
    env.update(TERM="xterm", PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}")
    if browser:
        env["BROWSER"] = browser
    code = "from partnercrmd.web_browser import open_page; print(open_page('http://127.0.0.1:9/ui/x'))"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def ran(bin_dir: Path) -> list[str]:
    return sorted(p.name.removeprefix("ran-") for p in bin_dir.parent.glob("ran-*"))


def test_a_text_mode_browser_is_not_what_a_failed_browser_falls_back_to(bin_dir: Path) -> None:
    assert open_page(bin_dir, str(bin_dir / "refuses")) == "False"
    assert ran(bin_dir) == ["refuses"]


def test_without_any_browser_nothing_is_opened(bin_dir: Path) -> None:
    assert open_page(bin_dir, "") == "False"
    assert ran(bin_dir) == []


def test_the_browser_the_user_names_is_used_text_mode_or_not(bin_dir: Path) -> None:
    assert open_page(bin_dir, str(bin_dir / "takes")) == "True"
    assert (bin_dir.parent / "ran-takes").read_text().strip() == "http://127.0.0.1:9/ui/x"
    assert open_page(bin_dir, f"{bin_dir / 'refuses'}{os.pathsep}w3m") == "True"
    assert ran(bin_dir) == ["refuses", "takes", "w3m"]


def test_without_webbrowsers_list_pages_open_as_webbrowser_opens_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """web_browser reads webbrowser's private `_tryorder`; should a later Python drop it, pages still open."""
    from partnercrmd import web_browser

    opened: list[tuple[str, int]] = []
    monkeypatch.delattr(webbrowser, "_tryorder", raising=False)
    monkeypatch.setattr(webbrowser, "register_standard_browsers", lambda: None)

    def record(url: str, new: int = 0) -> bool:
        opened.append((url, new))
        return True

    monkeypatch.setattr(webbrowser, "open", record)
    assert web_browser.open_page("http://127.0.0.1:9/ui/x") is True
    assert opened == [("http://127.0.0.1:9/ui/x", 2)]
