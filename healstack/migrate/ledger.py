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
    checksum: str
    applied_at: datetime
    duration_ms: Decimal
    applied_by: str
    statements: int


def ensure_ledger(conn: psycopg.Connection[Any]) -> None:
    with conn.transaction():
        conn.execute(files("healstack").joinpath("sql/ledger.sql").read_text(encoding="utf-8").encode())


def ledger_exists(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("select to_regclass('healstack.schema_migrations') is not null").fetchone()
    return bool(row and row[0])


def read_ledger(conn: psycopg.Connection[Any]) -> dict[str, LedgerRow]:
    """Applied migrations by version; empty when the ledger does not exist yet (read-only)."""
    try:
        if not ledger_exists(conn):
            return {}
        with conn.transaction(), conn.cursor(row_factory=class_row(LedgerRow)) as cur:
            cur.execute("select version, name, checksum, applied_at, duration_ms, applied_by, statements"
                        " from healstack.schema_migrations order by version")
            return {row.version: row for row in cur}
    except psycopg.errors.InsufficientPrivilege as e:
        raise ConfigError(f"role {conn.info.user} cannot read the migration ledger healstack.schema_migrations "
                          f"({e.diag.message_primary}); grant it USAGE on schema healstack and SELECT on the "
                          "ledger, or run as the role that applies migrations") from None


def record(conn: psycopg.Connection[Any], migration: Migration, duration_ms: float, statements: int) -> None:
    conn.execute(
        "insert into healstack.schema_migrations (version, name, checksum, duration_ms, statements)"
        " values (%s, %s, %s, %s, %s)",
        [migration.version, migration.name, migration.checksum, round(duration_ms, 3), statements],
    )
