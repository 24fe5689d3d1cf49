"""The add-in SDK: everything an add-in imports from partnercrmd (its tests also use `partnercrmd.testing`).

This package is the published face of the add-in contract; the core keeps its own modules, and this
package only re-exports from them, so an add-in written against `partnercrmd.sdk` keeps working while
the core is reorganised. The names in `__all__` are the stable surface. `SDK_VERSION` says which
surface an installed partnercrmd offers; docs/addins.md ("The SDK and its versions") has the rules:
a minor version only adds, a name that goes is deprecated first and keeps working for two minor
versions, and removing or changing a name bumps the major version.

`partnercrmd.sdk.vcard` holds the vCard helpers (content lines, reading cards), for the add-ins that
talk vCard; `partnercrmd.sdk.cli` what an add-in's command-line commands use.
"""

from __future__ import annotations

from ..backend_words import display_address, os_reason
from ..errors import SIGN_IN_REQUIRED, AddinError, ConfigError, PartnerError, Unsupported
from ..held_contacts import HeldBook, HeldContact, search_held
from ..hookspecs import hookimpl
from ..integration import (
    ON_LOOP_BUDGET,
    ON_LOOP_READS,
    ON_LOOP_STRIKES,
    BlockingConnector,
    BookContext,
    CallEvent,
    CallState,
    Capability,
    Classification,
    ConfigField,
    Connector,
    FieldKind,
    Integration,
    OAuthSignIn,
    ReleaseNote,
    SettingsCheck,
    SignInSession,
)
from ..model import (
    Activity,
    CallDirection,
    CallInfo,
    CheckResult,
    Contact,
    ContactPatch,
    Phone,
    PhoneKind,
    Picture,
    SearchQuery,
)
from ..name_index import NameIndex, holds_every_word, query_words, searchable_text
from ..paths import Paths
from ..phone import (
    SUFFIX_DIGITS,
    PhoneKey,
    display_number,
    index_tail,
    looks_like_number,
    number_forms,
    numbers_match,
    phone_key,
)
from ..phone_index import INDEX_FILE_PREFIX, PhoneIndex, index_file, remove_other_index_files
from ..platform.files import atomic_write
from ..redact import MASK
from ..refresh_coordinator import RefreshCoordinator, RefreshStatus, ThreadRefreshCoordinator
from ..refreshed_phone_index import FetchEntries, PhoneEntries, RefreshedPhoneIndex
from ..search import number_query
from ..word_search import TRIGRAM, fold, fts_schema, like_pattern, match_expression, rebuild_sql, words_where

SDK_VERSION = (1, 7)
"""(major, minor) of this surface: minor grows when names are added or deprecated, major when one is removed
or changes meaning. Compare with a tuple: `SDK_VERSION >= (1, 0)`."""

__all__ = [
    "INDEX_FILE_PREFIX",
    "MASK",
    "ON_LOOP_BUDGET",
    "ON_LOOP_READS",
    "ON_LOOP_STRIKES",
    "SDK_VERSION",
    "SIGN_IN_REQUIRED",
    "SUFFIX_DIGITS",
    "TRIGRAM",
    "Activity",
    "AddinError",
    "BlockingConnector",
    "BookContext",
    "CallDirection",
    "CallEvent",
    "CallInfo",
    "CallState",
    "Capability",
    "CheckResult",
    "Classification",
    "ConfigError",
    "ConfigField",
    "Connector",
    "Contact",
    "ContactPatch",
    "FetchEntries",
    "FieldKind",
    "HeldBook",
    "HeldContact",
    "Integration",
    "NameIndex",
    "OAuthSignIn",
    "PartnerError",
    "Paths",
    "Phone",
    "PhoneEntries",
    "PhoneIndex",
    "PhoneKey",
    "PhoneKind",
    "Picture",
    "RefreshCoordinator",
    "RefreshStatus",
    "RefreshedPhoneIndex",
    "ReleaseNote",
    "SearchQuery",
    "SettingsCheck",
    "SignInSession",
    "ThreadRefreshCoordinator",
    "Unsupported",
    "atomic_write",
    "display_address",
    "display_number",
    "fold",
    "fts_schema",
    "holds_every_word",
    "hookimpl",
    "index_file",
    "index_tail",
    "like_pattern",
    "looks_like_number",
    "match_expression",
    "number_forms",
    "number_query",
    "numbers_match",
    "os_reason",
    "phone_key",
    "query_words",
    "rebuild_sql",
    "remove_other_index_files",
    "search_held",
    "searchable_text",
    "words_where",
]
