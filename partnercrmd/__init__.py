"""partnercrmd: CRM integration daemon for softphones and UC desktop clients."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
PRODUCT_NAME = "partnercrmd"

if TYPE_CHECKING:
    from .hookspecs import hookimpl

__all__ = ["PRODUCT_NAME", "__version__", "hookimpl"]


def __getattr__(name: str) -> Any:
    """`partnercrmd.hookimpl` (re-exported for add-in authors), imported on first use.

    Importing the package must stay light: the CLI's light commands (`dial`, `version`) import it and
    must not load pluggy and the add-in contract.
    """
    if name == "hookimpl":
        from .hookspecs import hookimpl

        return hookimpl
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
