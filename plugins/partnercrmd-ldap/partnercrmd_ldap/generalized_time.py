"""LDAP GeneralizedTime values (RFC 4517 3.3.13) as directories write change times, and arithmetic on them.

OpenLDAP's modifyTimestamp reads `20261126024500Z`, Active Directory's whenChanged `20261126024500.0Z`.
A time written back into a filter keeps the style the server used.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

SAFETY_MARGIN = 300
"""Seconds taken off the bound for clock and replication skew between directory servers (see `index_fill`)."""

VALUE = re.compile(r"^(?P<seconds>\d{14})(?:[.,](?P<fraction>\d+))?Z$")
"""UTC with seconds, as both servers write their change times; other forms (offsets, no seconds) are refused."""


def parse(text: str) -> datetime | None:
    """The UTC time of a GeneralizedTime value (its fraction dropped), or None if it is not one of that form."""
    match = VALUE.match(text.strip())
    if match is None:
        return None
    try:
        return datetime.strptime(match["seconds"], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


class LatestChange:
    """The latest of many change times; spoilt (no latest) by an entry without one or with one not understood."""

    def __init__(self) -> None:
        self.latest: datetime | None = None
        self.fraction = False
        self.spoilt = False

    def add(self, values: Iterable[str]) -> None:
        """One entry's values of the change-time attribute."""
        times = [(parse(v), VALUE.match(v.strip())) for v in values]
        if not times or any(t is None for t, _ in times):
            self.spoilt = True
            return
        for moment, match in times:
            assert moment is not None and match is not None
            if self.latest is None or moment > self.latest:
                self.latest, self.fraction = moment, match["fraction"] is not None

    def after(self, moment: datetime) -> bool:
        """Whether the latest change time is later than `moment`."""
        return self.latest is not None and self.latest > moment

    def minus(self, seconds: int) -> str | None:
        """The latest change time less `seconds`, as GeneralizedTime in the server's style; None if unknown."""
        if self.spoilt or self.latest is None:
            return None
        moment = self.latest - timedelta(seconds=seconds)
        return moment.strftime("%Y%m%d%H%M%S") + (".0Z" if self.fraction else "Z")
