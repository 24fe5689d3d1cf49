"""The parts of ldap3 this add-in uses, imported in one place with pyasn1's deprecation warnings silenced.

ldap3 2.9.1 (its latest release) imports `tagMap` and `typeMap` from
pyasn1's BER encoder, which pyasn1 0.6.1 and later deprecated with a
DeprecationWarning at import time. The warning says nothing a user can act
on, and under `-W error` (the project's test settings) it would make the
add-in fail to open; so it is ignored here, for ldap3's modules only, while
ldap3 is imported. Every module of the add-in takes ldap3 from here.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"ldap3(\.|$)")
    import ldap3
    from ldap3.core import exceptions
    from ldap3.utils.conv import escape_bytes, escape_filter_chars
    from ldap3.utils.dn import escape_rdn, parse_dn

__all__ = ["escape_bytes", "escape_filter_chars", "escape_rdn", "exceptions", "ldap3", "parse_dn"]
