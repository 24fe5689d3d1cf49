"""The add-in contract: every hook an add-in may implement.

Add-ins are found through the entry-point group `partnercrmd.addins`; the
object an entry point names (usually a module) is registered with pluggy and
its functions decorated with `partnercrmd.hookimpl` are called by the host.
Built-in add-ins use the same mechanism.

pluggy notes for authors: hooks are called synchronously; a hookimpl whose
argument has a default value never receives that argument.
"""

from __future__ import annotations

from collections.abc import Sequence

import pluggy

from .integration import Integration

PROJECT = "partnercrmd"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def partnercrmd_integrations() -> Sequence[Integration]:
    """Return the integrations this add-in provides.

    Called once, when the host loads add-ins at start-up (and by `partnercrmd
    books` commands), and again, in a worker thread, when a configured book names
    an integration the host does not know yet (integrations defined by files may
    have been added). Return an empty sequence to provide none. Do no I/O here:
    connections are made when a configured address book is opened
    (`Integration.open`). An exception here is reported against this add-in
    and its integrations are left out; other add-ins are unaffected.
    """
    return ()
