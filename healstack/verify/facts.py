"""What the verify lints read of the live catalog, gathered once per run: relations with their reachability,
functions, index findings, the catalog snapshot, references into auth, outdated extensions, public buckets."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

import psycopg
from psycopg.rows import dict_row

from healstack import catalog

Finding = tuple[str, str, dict[str, Any]]  # object, message, evidence


@dataclass(frozen=True)
class Facts:
    relations: list[dict[str, Any]]
    functions: list[dict[str, Any]]
    index_findings: list[dict[str, Any]]
    snapshot: catalog.Snapshot
    references: list[dict[str, Any]]  # foreign keys into auth, outdated extensions (lint_references.sql)
    public_buckets: list[str]          # storage's public buckets, where there is a storage schema
    rls_tables: frozenset[tuple[str, str]] = frozenset()  # (schema, name) of every table with RLS on
    schemas: frozenset[str] = frozenset()
    extensions: frozenset[str] = frozenset()  # every installed extension, the platform's included

    def has_schema(self, name: str) -> bool:
        return name in self.schemas

    def tables(self) -> Iterator[dict[str, Any]]:
        return (r for r in self.relations if r["kind"] in ("r", "p"))

    def policies(self) -> Iterable[catalog.Record]:
        return self.snapshot["policies"].values()


@cache
def _sql(name: str) -> bytes:
    return files("healstack.verify").joinpath(f"sql/{name}.sql").read_bytes()


def gather(conn: psycopg.Connection[Any]) -> Facts:
    def rows(name: str) -> list[dict[str, Any]]:
        with conn.cursor(row_factory=dict_row) as cur:
            cur.execute(_sql(name))
            return [r for r in cur.fetchall() if r["schema"] not in catalog.PLATFORM_SCHEMAS]

    with conn.cursor(row_factory=dict_row) as cur:  # platform rows kept: extensions live in them
        cur.execute(_sql("lint_references"))
        references = [r for r in cur.fetchall() if r["schema"] not in catalog.PLATFORM_SCHEMAS]
    has_storage = conn.execute("select to_regclass('storage.buckets') is not null").fetchone()
    buckets = [r[0] for r in conn.execute("select id from storage.buckets where public order by id")] \
        if has_storage and has_storage[0] else []
    rls_tables = frozenset((r[0], r[1]) for r in conn.execute(
        "select n.nspname::text, c.relname::text from pg_catalog.pg_class as c join pg_catalog.pg_namespace as n"
        " on c.relnamespace = n.oid where c.relrowsecurity"))
    schemas = frozenset(r[0] for r in conn.execute("select nspname::text from pg_catalog.pg_namespace"))
    extensions = frozenset(r[0] for r in conn.execute("select extname::text from pg_catalog.pg_extension"))
    return Facts(rows("lint_relations"), rows("lint_functions"), rows("lint_indexes"), catalog.take(conn),
                 references, buckets, rls_tables, schemas, extensions)


def reachable(rel: dict[str, Any]) -> bool:
    return bool(rel["anon_reachable"] or rel["authenticated_reachable"])
