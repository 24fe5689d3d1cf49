"""Opening a web page in the user's graphical web browser: the standard library's `webbrowser`, without the
text-mode browsers it falls back to.

In a terminal (TERM set), `webbrowser.open` tries `www-browser`, `links`, `elinks`, `lynx` and `w3m` after the
graphical browsers, and runs the first it finds in the foreground, in that terminal, until the user quits it.
The daemon has no terminal to show one in (its worker thread would wait for it, its log would take its screen),
and `partnercrmd ui` prints the address instead, which the pages need a graphical browser for. A browser the
user names in BROWSER is still tried, text-mode or not. Standard library only: `partnercrmd ui` is a light command.
"""

from __future__ import annotations

import os
import threading
import webbrowser

TEXT_MODE_BROWSERS = frozenset({"www-browser", "links", "elinks", "lynx", "w3m"})
"""The names Python's webbrowser registers for the text-mode browsers it finds on PATH when TERM is set."""
_REGISTERING = threading.Lock()


def browser_order() -> list[str] | None:
    """The browsers `webbrowser.open` would try, in its order, less the text-mode ones BROWSER does not name; None
    where webbrowser keeps no such list (its `_tryorder`, there since Python 2: a later Python may change it)."""
    with _REGISTERING:  # the daemon opens pages from worker threads
        if getattr(webbrowser, "_tryorder", None) is None:
            webbrowser.register_standard_browsers()  # what webbrowser.open does on first use
    order = getattr(webbrowser, "_tryorder", None)
    if not isinstance(order, list):
        return None
    named = set(os.environ.get("BROWSER", "").split(os.pathsep))
    return [name for name in order if name not in TEXT_MODE_BROWSERS or name in named]


def open_page(url: str) -> bool:
    """Open `url` in a new browser tab (blocks while the browser command starts); whether a browser took it."""
    order = browser_order()
    if order is None:
        return webbrowser.open(url, 2)  # webbrowser as it is: better a text-mode browser than none at all
    for name in order:
        try:
            browser = webbrowser.get(name)
        except webbrowser.Error:
            continue
        if browser.open(url, 2):
            return True
    return False
