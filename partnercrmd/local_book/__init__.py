"""The embedded local address book: contacts kept in SQLite on this computer."""
