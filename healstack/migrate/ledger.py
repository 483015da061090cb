"""The ledger of applied migrations (healstack.schema_migrations)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from importlib.resources import files
from typing import Any

import psycopg
from psycopg.rows import class_row

from healstack.errors import ConfigError
from healstack.migrate.files import Migration

# One key for every healstack apply, so two runs against one database never interleave.
APPLY_LOCK_KEY = 0x6865616C  # "heal"


@dataclass(frozen=True)
class LedgerRow:
    version: str
    name: str
    checksum: str | None       # None: applied by the Supabase CLI, whose history keeps no checksum
    applied_at: datetime | None
    duration_ms: Decimal
    applied_by: str
    statements: int

    @property
    def when(self) -> str:
        return f"on {self.applied_at:%Y-%m-%d}" if self.applied_at else "by the Supabase CLI"


# The Supabase CLI's history (`supabase db push`, `supabase migration up`): version, name, statements.
CLI_HISTORY = "supabase_migrations.schema_migrations"


def ensure_ledger(conn: psycopg.Connection[Any]) -> None:
    with conn.transaction():
        conn.execute(files("healstack").joinpath("sql/ledger.sql").read_text(encoding="utf-8").encode())


def ledger_exists(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("select to_regclass('healstack.schema_migrations') is not null").fetchone()
    return bool(row and row[0])


def cli_history_exists(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("select to_regclass(%s) is not null", [CLI_HISTORY]).fetchone()
    return bool(row and row[0])


def read_ledger(conn: psycopg.Connection[Any]) -> dict[str, LedgerRow]:
    """Applied migrations by version, healstack's ledger first, then what only the Supabase CLI's history
    holds; empty when neither exists yet (read-only)."""
    try:
        applied: dict[str, LedgerRow] = {}
        if ledger_exists(conn):
            with conn.transaction(), conn.cursor(row_factory=class_row(LedgerRow)) as cur:
                cur.execute("select version, name, checksum, applied_at, duration_ms, applied_by, statements"
                            " from healstack.schema_migrations order by version")
                applied = {row.version: row for row in cur}
        if cli_history_exists(conn):
            rows = conn.execute("select version, coalesce(name, ''), coalesce(cardinality(statements), 0)"
                                " from supabase_migrations.schema_migrations order by version").fetchall()
            for version, name, count in rows:
                applied.setdefault(version, LedgerRow(version, name, None, None, Decimal(0), "supabase cli", count))
        return applied
    except psycopg.errors.InsufficientPrivilege as e:
        raise ConfigError(f"role {conn.info.user} cannot read the migration ledger healstack.schema_migrations "
                          f"({e.diag.message_primary}); grant it USAGE on schema healstack and SELECT on the "
                          "ledger, or run as the role that applies migrations") from None


def record(conn: psycopg.Connection[Any], migration: Migration, duration_ms: float, statements: int) -> None:
    """In healstack's ledger and, where the Supabase CLI keeps its history, there too (so `supabase db push`
    does not apply the file a second time)."""
    conn.execute(
        "insert into healstack.schema_migrations (version, name, checksum, duration_ms, statements)"
        " values (%s, %s, %s, %s, %s)",
        [migration.version, migration.name, migration.checksum, round(duration_ms, 3), statements],
    )
    if cli_history_exists(conn):
        conn.execute("insert into supabase_migrations.schema_migrations (version, name) values (%s, %s)"
                     " on conflict (version) do nothing", [migration.version, migration.name])
