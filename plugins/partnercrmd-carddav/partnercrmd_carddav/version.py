"""The add-in's version, in a module of its own so that packaging can read it without importing anything."""

__version__ = "0.2.1"

USER_AGENT = f"partnercrmd-carddav/{__version__}"
