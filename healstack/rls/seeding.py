"""The rows a probe needs before it can seed a table: the two probe users in ``auth.users``, the parent rows
its foreign keys point at, and the membership rows that make a user a member of a tenant.

Values a contract does not give are made up from the column's type, so a table whose required columns are
plain types seeds without a ``sample``. Everything is written inside the probe's transaction, which is
rolled back. When a row cannot be created (a CHECK constraint, a trigger, a foreign key too deep), the probe
says so with Postgres's own message instead of guessing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import psycopg
from psycopg import sql

from healstack.sqlfiles import query

AUTH_USERS = "auth.users"
_DEPTH = 3  # parent of a parent of a parent: deeper than that, the contract's sample must say


class SeedError(Exception):
    """A row the probe needs could not be created; the message says which and why."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    category: str
    required: bool
    enum_value: str | None
    references_table: str | None
    references_column: str | None
    is_unique: bool


def made_up(column: Column, n: int, token: str) -> str:
    """A value of the column's type for seeded row ``n``, unique per probe run where the type allows."""
    if column.enum_value is not None:
        return column.enum_value
    if column.type == "uuid":
        return str(uuid.uuid5(uuid.NAMESPACE_OID, f"{token}-{column.name}-{n}"))
    if column.category == "N":
        return str(n + 1)
    if column.category == "B":
        return "false"
    if column.category == "D":
        return "2025-01-01"
    if column.category == "A":
        return "{}"
    if column.type in ("json", "jsonb"):
        return "{}"
    return f"hs-probe-{token}-{n}"


def tenant_values(column: Column | None, token: str) -> tuple[str, str]:
    """Two distinct tenants of the column's type: P (the probe's own) and Q (the other)."""
    if column is not None and column.type == "uuid":
        return str(uuid.uuid5(uuid.NAMESPACE_OID, f"{token}-p")), str(uuid.uuid5(uuid.NAMESPACE_OID, f"{token}-q"))
    if column is not None and column.category == "N":
        base = 900_000_000 + int(token, 16) % 90_000_000
        return str(base), str(base + 1)
    return f"hs-probe-p-{token}", f"hs-probe-q-{token}"


class Seeder:
    """Creates prerequisite rows as the connection's own user (the owner), who may write auth.users and
    private schemas the API roles cannot."""

    def __init__(self, conn: psycopg.Connection[Any], token: str) -> None:
        self.conn, self.token = conn, token
        self.own_user = str(uuid.uuid5(uuid.NAMESPACE_OID, f"{token}-user-p"))
        self.other_user = str(uuid.uuid5(uuid.NAMESPACE_OID, f"{token}-user-q"))
        self._columns: dict[str, list[Column]] = {}
        self._parents = 0  # numbers parent rows, so made-up values of unique columns differ

    def columns(self, table: str) -> list[Column]:
        if not self._columns:  # every table's at once: one catalog query per probe run
            self._columns[""] = []
            for table_name, *row in self.conn.execute(query("healstack.rls", "columns")):
                self._columns.setdefault(table_name, []).append(Column(*row))
        return self._columns.get(table, [])

    def column(self, table: str, name: str | None) -> Column | None:
        return next((c for c in self.columns(table) if c.name == name), None)

    @cached_property
    def has_auth_users(self) -> bool:
        return bool(self.columns(AUTH_USERS))

    def as_owner(self) -> None:
        self.conn.execute("select set_config('role', 'none', true)")

    def users(self) -> None:
        """The two probe users, as Supabase Auth would have created them (their triggers fire). Created only
        where a row refers to auth.users: each probe's rows are rolled back, and leave dead rows behind."""
        if not self.has_auth_users:
            return
        self.as_owner()
        for user in (self.own_user, self.other_user):
            self.insert(AUTH_USERS, {"id": user, "aud": "authenticated", "role": "authenticated",
                                     "email": f"{user}@probe.healstack.invalid"}, conflict_free=True)

    def parent(self, table: str, column: str, value: str, depth: int = 0) -> None:
        """A row of ``table`` whose ``column`` is ``value``, with its own parents, unless it exists."""
        if table == AUTH_USERS:
            self.users()  # the probe users are the only users a probe refers to
            return
        if depth > _DEPTH:
            raise SeedError(f"{table}: foreign keys nest deeper than {_DEPTH}; give the value in the contract's sample")
        self._parents += 1
        row = self.complete(table, {column: value}, n=100 + self._parents, depth=depth + 1)
        self.as_owner()
        self.insert(table, row, conflict_free=True)

    def complete(self, table: str, row: dict[str, str], n: int, depth: int = 0) -> dict[str, str]:
        """``row`` with a value for every column that needs one, and the parent rows its values point at."""
        out = dict(row)
        for column in self.columns(table):
            if column.name not in out and column.references_table == AUTH_USERS:
                out[column.name] = self.own_user  # a default of auth.uid() is null outside a request
            elif column.name not in out and column.required:
                out[column.name] = made_up(column, n, self.token)
            if column.name in out and column.references_table and column.references_column:
                self.parent(column.references_table, column.references_column, out[column.name], depth)
        return out

    def insert(self, table: str, row: dict[str, str], *, conflict_free: bool = False) -> None:
        schema, name = table.split(".", 1)
        statement = sql.SQL("insert into {} ({}) values ({}){}").format(
            sql.Identifier(schema, name), sql.SQL(", ").join(map(sql.Identifier, row)),
            sql.SQL(", ").join(sql.Placeholder() * len(row)),
            sql.SQL(" on conflict do nothing") if conflict_free else sql.SQL(""))
        try:
            with self.conn.transaction():
                self.conn.execute(statement, list(row.values()))
        except psycopg.Error as e:
            raise SeedError(f"could not create a row in {table}: {e.diag.message_primary or e}") from None
