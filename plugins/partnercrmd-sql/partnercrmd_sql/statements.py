"""The SQL partnercrmd writes for a mapped table: only checked, quoted names; every value a `:name` parameter."""

from __future__ import annotations

from collections.abc import Sequence

from .client import Driver
from .mapping import ActivityColumns, ColumnMap
from .sqltext import Statement, TableName

MAX_WORDS = 5
"""A name search uses at most this many words of the query."""


class ContactStatements:
    """Statements on the contacts table."""

    def __init__(self, table: TableName, columns: ColumnMap, driver: Driver, returning: bool) -> None:
        self.table = table
        self.columns = columns
        self.driver = driver
        self.returning = returning
        self.quote = driver.quote
        self.table_sql = table.sql(driver.quote)
        self.origin = f"reading the table {table} (the table and column settings)"

    def _returning(self) -> str:
        return f" RETURNING {self.quote(self.columns.id)}" if self.columns.id and self.returning else ""

    def _select(self, include_picture: bool) -> str:
        names = ", ".join(self.quote(name) for name in self.columns.selected(include_picture))
        return f"SELECT {names} FROM {self.table_sql}"  # noqa: S608  (checked, quoted names only)

    def _order(self) -> str:
        columns = self.columns
        first = next(n for n in (columns.display_name, columns.last_name, columns.first_name, columns.id) if n)
        return f" ORDER BY {self.quote(first)}, {self.quote(columns.id)}"

    def number_search(self, include_picture: bool) -> Statement | None:
        """Rows whose phone columns, digits only, contain `:pattern` ('%<last 7 digits>%'), or whose reversed-digits
        column starts with `:reversed_pattern` ('<last 7 digits reversed>%'); None without phones."""
        if not self.columns.phones:
            return None
        reversed_digits = dict(self.columns.reversed_digits)
        tests = " OR ".join(
            # an indexed column of the reversed digits: "ends with the tail" is a prefix search the index serves
            f"{self.quote(reversed_digits[p.name])} LIKE :reversed_pattern"
            if p.name in reversed_digits
            else f"{self.driver.digits(self.quote(p.name))} LIKE :pattern"
            for p in self.columns.phones
        )
        return Statement(f"{self._select(include_picture)} WHERE {tests} LIMIT :limit", self.origin)

    def name_search(self, words: int, include_picture: bool) -> Statement | None:
        """Rows where every word `:w0`… is in one of the name, company or email columns; None without them."""
        text_columns = self.columns.text_columns()
        if not text_columns or words < 1:
            return None
        conditions = []
        for index in range(words):
            either = " OR ".join(self.driver.contains(self.quote(name), f"w{index}") for name in text_columns)
            conditions.append(f"({either})")
        where = " AND ".join(conditions)
        return Statement(f"{self._select(include_picture)} WHERE {where}{self._order()} LIMIT :limit", self.origin)

    def get(self, include_picture: bool) -> Statement:
        return Statement(f"{self._select(include_picture)} WHERE {self.quote(self.columns.id)} = :id", self.origin)

    def probe(self) -> Statement:
        """Reads nothing, but fails when the table or a mapped column does not exist."""
        return Statement(f"{self._select(True)} WHERE 1 = 0", self.origin)

    def first_id(self) -> Statement:
        column = self.quote(self.columns.id)
        return Statement(f"SELECT {column} FROM {self.table_sql} LIMIT 1", self.origin)  # noqa: S608  (quoted names)

    def insert(self, values: Sequence[tuple[str, str]]) -> Statement:
        """INSERT of (column, parameter) pairs, returning the new id where the database can."""
        names = ", ".join(self.quote(column) for column, _ in values)
        params = ", ".join(f":{parameter}" for _, parameter in values)
        returning = self._returning()
        sql = f"INSERT INTO {self.table_sql} ({names}) VALUES ({params}){returning}"  # noqa: S608  (quoted names)
        return Statement(sql, f"creating a contact in the table {self.table}")

    def update(self, values: Sequence[tuple[str, str]]) -> Statement:
        """UPDATE of (column, parameter) pairs for the row with id `:id`."""
        changes = ", ".join(f"{self.quote(column)} = :{parameter}" for column, parameter in values)
        sql = f"UPDATE {self.table_sql} SET {changes} WHERE {self.quote(self.columns.id)} = :id"  # noqa: S608
        return Statement(sql, f"changing a contact in the table {self.table}")


class ActivityStatements:
    """Statements on the call log table."""

    PARAMETERS = (
        ("contact", "contact_id"),
        ("subject", "subject"),
        ("body", "body"),
        ("direction", "direction"),
        ("start", "start_utc"),
        ("duration", "duration_seconds"),
    )

    def __init__(self, table: TableName, columns: ActivityColumns, driver: Driver, returning: bool) -> None:
        self.table = table
        self.columns = columns
        self.returning = returning
        self.quote = driver.quote
        self.table_sql = table.sql(driver.quote)
        self.origin = f"the call log table {table} (the call log settings)"

    def _returning(self) -> str:
        return f" RETURNING {self.quote(self.columns.id)}" if self.columns.id and self.returning else ""

    def _pairs(self) -> list[tuple[str, str]]:
        pairs = [(getattr(self.columns, field), parameter) for field, parameter in self.PARAMETERS]
        return [(column, parameter) for column, parameter in pairs if column]

    def insert(self) -> Statement:
        pairs = self._pairs()
        names = ", ".join(self.quote(column) for column, _ in pairs)
        params = ", ".join(f":{parameter}" for _, parameter in pairs)
        returning = self._returning()
        sql = f"INSERT INTO {self.table_sql} ({names}) VALUES ({params}){returning}"  # noqa: S608  (quoted names)
        return Statement(sql, f"logging a call into {self.origin}")

    def recent(self) -> Statement:
        """The contact's `:limit` latest calls."""
        columns = self.columns
        names = ", ".join(self.quote(column) for column in dict.fromkeys(c for c, _ in self._pairs()))
        if columns.id:
            names += f", {self.quote(columns.id)}"
        order = [self.quote(c) + " DESC" for c in (columns.start, columns.id) if c]
        order_by = f" ORDER BY {', '.join(order)}" if order else ""
        sql = (
            f"SELECT {names} FROM {self.table_sql} "  # noqa: S608  (quoted names)
            f"WHERE {self.quote(columns.contact)} = :contact_id{order_by} LIMIT :limit"
        )
        return Statement(sql, f"reading {self.origin}")

    def probe(self) -> Statement:
        names = ", ".join(self.quote(column) for column, _ in self._pairs())
        return Statement(f"SELECT {names} FROM {self.table_sql} WHERE 1 = 0", f"reading {self.origin}")  # noqa: S608
