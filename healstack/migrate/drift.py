"""Drift between files and database: edited applied migrations, vanished files, untracked objects."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
from pglast import ast

from healstack.migrate.files import Migration
from healstack.migrate.ledger import LedgerRow
from healstack.migrate.statements import split
from healstack.results import CheckResult, Outcome
from healstack.sqltree import dotted, relname


def ledger_drift(migrations: list[Migration], ledger: dict[str, LedgerRow]) -> list[CheckResult]:
    """FAILED for an applied migration whose file changed or vanished; PASSED otherwise."""
    on_disk = {m.version: m for m in migrations}
    results = []
    for version, row in sorted(ledger.items()):
        migration = on_disk.get(version)
        if migration is None:
            results.append(CheckResult("HS101", Outcome.FAILED, f"{version}_{row.name}",
                                       f"applied {row.when} but its file is gone",
                                       {"version": version, "ledger_checksum": row.checksum}))
        elif row.checksum is not None and migration.checksum != row.checksum:  # the CLI keeps none to compare
            results.append(CheckResult(
                "HS102", Outcome.FAILED, migration.label,
                f"edited after it was applied {row.when}; restore it and put the change in a "
                "new migration", {"version": version, "ledger_checksum": row.checksum,
                                  "file_checksum": migration.checksum}))
    if not results:
        results.append(CheckResult("HS102", Outcome.PASSED, "ledger", f"{len(ledger)} applied migrations match"))
    return results


def _created_objects(migration: Migration) -> Iterator[tuple[str, str]]:
    """(kind, schema.name) of the tables, views, indexes and functions a migration creates."""
    for stmt in split(migration.text, migration.label):
        node = stmt.node
        if isinstance(node, ast.CreateStmt):
            yield "table", relname(node.relation)
        elif isinstance(node, ast.ViewStmt):
            yield "view", relname(node.view)
        elif isinstance(node, ast.IndexStmt) and node.idxname:
            yield "index", f"{relname(node.relation).partition('.')[0]}.{node.idxname}"
        elif isinstance(node, ast.CreateFunctionStmt):
            names = dotted(node.funcname)
            yield "function", ".".join(names if len(names) > 1 else ["public", *names])


def untracked_objects(conn: psycopg.Connection[Any], pending: list[Migration]) -> list[CheckResult]:
    """WARNED for objects a pending migration creates that already exist: applied outside the ledger."""
    results = []
    for migration in pending:
        found = []
        for kind, name in _created_objects(migration):
            schema, _, obj = name.partition(".")
            if kind == "function":
                query = ("select exists (select from pg_proc p join pg_namespace n on n.oid = p.pronamespace"
                         " where n.nspname = %s and p.proname = %s)")
                row = conn.execute(query, [schema, obj]).fetchone()
            else:
                row = conn.execute(
                    "select exists (select from pg_class c join pg_namespace n on n.oid = c.relnamespace"
                    " where n.nspname = %s and c.relname = %s)", [schema, obj]).fetchone()
            if row and row[0]:
                found.append(f"{kind} {name}")
        if found:
            results.append(CheckResult(
                "HS103", Outcome.WARNED, migration.label,
                f"{len(found)} objects exist but the migration is not in the ledger (applied by hand?): "
                + ", ".join(found[:5]) + (" ..." if len(found) > 5 else ""), {"objects": found}))
    return results
