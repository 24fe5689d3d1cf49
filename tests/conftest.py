"""Shared test set-up: the `partnercrmd.testing` fixtures come from the installed pytest plugin."""

pytest_plugins = [
    "tests.desktop_session",  # the `desktop` fixture: a real Xvfb display
    "tests.browser_session",  # `playwright`, `browser`: Debian's Chromium
    "tests.redacted_log",  # `log_file`: the daemon's log as written, redacted
]
