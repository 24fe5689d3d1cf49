"""The add-in's version (one place, read by setup.cfg and the integration)."""

__version__ = "0.1.1"
