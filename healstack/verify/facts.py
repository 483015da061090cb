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
    return Facts(rows("lint_relations"), rows("lint_functions"), rows("lint_indexes"), catalog.take(conn),
                 references, buckets)


def reachable(rel: dict[str, Any]) -> bool:
    return bool(rel["anon_reachable"] or rel["authenticated_reachable"])
