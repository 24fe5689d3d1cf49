"""Shared test set-up: the `partnercrmd.testing` fixtures come from the installed pytest plugin."""
