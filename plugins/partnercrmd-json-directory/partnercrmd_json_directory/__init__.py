"""partnercrmd add-in: caller preview and contact popping from a company directory kept as a JSON file.

The example add-in of docs/addins.md, in the layout every add-in shares: this module holds the
hook and the `Integration`; `settings` the schema and its checks, `client` reading the file,
`connector` the connector, `checks` Test connection.
"""

from __future__ import annotations

from collections.abc import Sequence

from partnercrmd.sdk import Capability, Integration, ReleaseNote, hookimpl

from .checks import check_settings
from .connector import open_directory
from .settings import CONFIG

__version__ = "0.1.0"

JSON_DIRECTORY = Integration(
    id="json-directory",
    name="Company directory (JSON file)",
    version=__version__,
    open=open_directory,
    capabilities=frozenset({Capability.SEARCH_NUMBER, Capability.SEARCH_NAME, Capability.POP}),
    description="People listed in a JSON file (name, company, title, email, phones); opens them on your intranet.",
    config=CONFIG,
    check_settings=check_settings,
    guide_url="https://github.com/partnercrmd/partnercrmd/blob/main/plugins/partnercrmd-json-directory/README.md",
    release_notes=(
        ReleaseNote(
            __version__,
            "2026-11-25",
            "First release: search by number and by name, open records on the intranet, "
            "re-read the file when it changes.",
        ),
    ),
)


@hookimpl
def partnercrmd_integrations() -> Sequence[Integration]:
    """This add-in provides one integration: `json-directory`."""
    return [JSON_DIRECTORY]
