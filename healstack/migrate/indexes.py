"""Concurrent index builds run outside a transaction, so a failed one leaves an INVALID index behind, which a
re-run's IF NOT EXISTS would then skip. A no-transaction migration is applied only when every index on the
tables it indexes is valid afterwards; an invalid one left by an earlier try is rebuilt first."""

from __future__ import annotations

from typing import Any

import psycopg
from pglast import ast
from psycopg import sql

from healstack.errors import MigrationFailed
from healstack.evidence import EvidenceLog
from healstack.migrate.files import Migration
from healstack.migrate.statements import Statement
from healstack.sqlfiles import query
from healstack.sqltree import relname


def indexed_tables(statements: list[Statement]) -> list[str]:
    """schema.table of every table the statements build an index on."""
    return sorted({relname(s.node.relation) for s in statements if isinstance(s.node, ast.IndexStmt)})


def invalid_indexes(conn: psycopg.Connection[Any], tables: list[str]) -> list[tuple[str, str]]:
    """(schema, index) of the invalid indexes on ``tables`` (schema.table, as the statements name them)."""
    if not tables:
        return []
    wanted = set(tables)
    return [(schema, index) for schema, index, table in conn.execute(query("healstack.migrate", "invalid_indexes"))
            if table in wanted]


def rebuild_invalid(conn: psycopg.Connection[Any], migration: Migration, tables: list[str],
                    log: EvidenceLog) -> None:
    """REINDEX CONCURRENTLY each invalid index an earlier try left (a rebuild, not a drop: no data is lost)."""
    for schema, index in invalid_indexes(conn, tables):
        name = f"{schema}.{index}"
        try:
            conn.execute(sql.SQL("reindex index concurrently {}").format(sql.Identifier(schema, index)))
        except psycopg.Error as e:
            raise MigrationFailed(f"{migration.label}: index {name} is invalid (a failed concurrent build) and "
                                  f"could not be rebuilt: {e.diag.message_primary or e}; fix the cause and run "
                                  "again") from e
        log.event("rebuilt", f"{migration.label}: rebuilt invalid index {name}", index=name)


def require_valid(conn: psycopg.Connection[Any], migration: Migration, tables: list[str]) -> None:
    invalid = [f"{schema}.{index}" for schema, index in invalid_indexes(conn, tables)]
    if invalid:
        raise MigrationFailed(f"{migration.label}: index {', '.join(invalid)} is invalid after the migration "
                              "(a failed concurrent build); it was not recorded as applied")
