"""partnercrmd: CRM integration daemon for softphones and UC desktop clients."""

__version__ = "0.1.0"
PRODUCT_NAME = "partnercrmd"

from .hookspecs import hookimpl  # noqa: E402  (re-exported for add-in authors)

__all__ = ["PRODUCT_NAME", "__version__", "hookimpl"]
