"""partnercrmd add-in: declarative REST integrations.

A template (YAML, checked against the published JSON Schema in `schema/template.schema.json`)
describes a CRM's REST API: settings, authentication, and the requests and response mappings of
each operation. This add-in turns every template of its catalogue and of the user's folder into
an integration (`discovery`), runs them (`engine`, `client`, `auth`), and adds the CLI commands
`partnercrmd template try|validate|authorize|import-3cx` (`commands`, `threecx`).
"""

from __future__ import annotations

from collections.abc import Sequence

from partnercrmd import hookimpl
from partnercrmd.integration import Integration

from .discovery import discover

__version__ = "0.1.0"


@hookimpl
def partnercrmd_integrations() -> Sequence[Integration]:
    """One integration per template found (catalogue and user folder); broken ones say what is wrong."""
    return discover().integrations
