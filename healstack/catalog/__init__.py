"""Catalog snapshots: one query per object kind, records keyed by quoted full name, diffs as data."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from types import MappingProxyType
from typing import Any

import psycopg
from psycopg.rows import dict_row

KINDS = ("extensions", "schemas", "relations", "columns", "constraints", "indexes", "policies", "functions",
         "triggers", "grants", "default_privileges")

# Supabase's platform schemas and healstack's own ledger are not the stack's schema.
PLATFORM_SCHEMAS = frozenset({
    "auth", "storage", "realtime", "extensions", "graphql", "graphql_public", "vault", "pgsodium",
    "pgsodium_masks", "supabase_functions", "supabase_migrations", "net", "cron", "pgbouncer", "_realtime",
    "_analytics", "healstack",
})

# Extensions a Supabase project has whether or not a migration asks for them, and which create no object of
# the stack's: monitoring, and the extensions every project starts with (compat creates them as Supabase does).
# pgtap too: `supabase test db` (and healstack's HS504, which runs the project's tests as it does) installs it
# where no migration asked for it.
PLATFORM_EXTENSIONS = frozenset({"pg_stat_statements", "uuid-ossp", "pgcrypto", "pg_graphql", "supabase_vault",
                                 "pgtap"})

# User policies and triggers placed on platform tables (storage.objects, auth.users) are the stack's own.
KEPT_ON_PLATFORM = frozenset({"policies", "triggers"})

Record = Mapping[str, Any]
Snapshot = dict[str, dict[str, Record]]


@cache
def query(kind: str) -> str:
    """The catalog query for one object kind (a .sql file that runs unchanged in psql)."""
    return files("healstack.catalog").joinpath(f"sql/{kind}.sql").read_text(encoding="utf-8")


def take(conn: psycopg.Connection[Any], *, ignore_schemas: Iterable[str] = PLATFORM_SCHEMAS) -> Snapshot:
    """Snapshot every object kind. Rows in ignored schemas are dropped, except extensions and the
    policies and triggers placed on platform tables."""
    ignored = frozenset(ignore_schemas)
    snapshot: Snapshot = {}
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        # Deparsed definitions qualify every name outside pg_catalog, so they mean the same thing on
        # both sides of a diff and in a delta run under any search_path.
        cur.execute("set local search_path = pg_catalog")
        for kind in KINDS:
            cur.execute(query(kind).encode("utf-8"))
            rows = cur.fetchall()
            snapshot[kind] = {
                row["key"]: _freeze(row) for row in rows
                if (kind == "extensions" and row["name"] not in PLATFORM_EXTENSIONS)
                or kind in KEPT_ON_PLATFORM or row.get("schema") not in ignored
            }
    return snapshot


def _freeze(row: dict[str, Any]) -> Record:
    return MappingProxyType({k: tuple(v) if isinstance(v, list) else v for k, v in row.items() if k != "key"})


# Where a snapshot names a role: these fields, and the keys of these kinds (`... to <grantee>`, `... for <owner>`).
ROLE_FIELDS = ("owner", "grantee", "roles")
KEYS_WITH_ROLES = ("grants", "default_privileges")


def rename_role(snapshot: Snapshot, old: str, new: str) -> Snapshot:
    """The snapshot as if role ``old`` were called ``new``: a reference schema built by one role compares with
    a target migrated by another without every owner and grant showing up as a difference."""
    def value(v: Any) -> Any:
        if isinstance(v, tuple):
            return tuple(new if item == old else item for item in v)
        return new if v == old else v

    def key(kind: str, k: str) -> str:
        return " ".join(new if word == old else word for word in k.split(" ")) if kind in KEYS_WITH_ROLES else k

    return {kind: {key(kind, k): MappingProxyType({f: value(v) if f in ROLE_FIELDS else v for f, v in rec.items()})
                   for k, rec in records.items()} for kind, records in snapshot.items()}


class Change(enum.StrEnum):
    MISSING = "missing"
    UNEXPECTED = "unexpected"
    DIFFERENT = "different"


@dataclass(frozen=True)
class Difference:
    """One object that differs between an expected and an actual snapshot."""

    kind: str
    key: str
    change: Change
    expected: Record | None
    actual: Record | None

    def fields(self) -> dict[str, tuple[Any, Any]]:
        """For DIFFERENT: field -> (expected, actual) of the fields that differ."""
        if self.expected is None or self.actual is None:
            return {}
        return {k: (self.expected.get(k), self.actual.get(k)) for k in self.expected
                if self.expected.get(k) != self.actual.get(k)}

    def describe(self) -> str:
        if self.change is Change.DIFFERENT:
            parts = [f"{k}: expected {e!r}, found {a!r}" for k, (e, a) in self.fields().items()]
            return f"{self.kind} {self.key} differs: " + "; ".join(parts)
        return f"{self.kind} {self.key} is {self.change.value}"


def diff(expected: Snapshot, actual: Snapshot) -> list[Difference]:
    """Every object missing from, unexpected in, or different in ``actual``."""
    out = []
    for kind in KINDS:
        want, have = expected.get(kind, {}), actual.get(kind, {})
        for key in sorted(want.keys() | have.keys()):
            if key not in have:
                out.append(Difference(kind, key, Change.MISSING, want[key], None))
            elif key not in want:
                out.append(Difference(kind, key, Change.UNEXPECTED, None, have[key]))
            elif want[key] != have[key]:
                out.append(Difference(kind, key, Change.DIFFERENT, want[key], have[key]))
    return out
