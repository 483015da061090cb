"""Verify benchmark: snapshot + diff of a generated 500-table schema, and the delta's exactness."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from healstack import catalog
from healstack.bench import median_of, timed, write_report
from healstack.config import Settings
from healstack.db import connect, create_database
from healstack.delta import plan_delta, render_delta
from healstack.embedded import EmbeddedServer, default_bindir

TABLES, MISSING_TABLES, MISSING_COLUMNS, MISSING_INDEXES, MISSING_POLICIES = 500, 50, 100, 100, 30
TARGET_S = 0.5


def _schema_sql() -> str:
    """500 tables of 8 columns, 3 indexes (beyond the primary key), RLS and 2 policies each."""
    parts = ["create schema bench;"]
    for i in range(TABLES):
        t = f"bench.t{i:03d}"
        parts.append(
            f"create table {t} (id bigint generated always as identity primary key, tenant text not null,"
            f" a int, b text, c numeric(12, 2), d timestamptz default now(), e jsonb, f boolean);"
            f" create index t{i:03d}_tenant on {t} (tenant); create index t{i:03d}_ab on {t} (a, b);"
            f" create index t{i:03d}_d on {t} (d); alter table {t} enable row level security;"
            f" create policy t{i:03d}_read on {t} for select using (tenant = current_user);"
            f" create policy t{i:03d}_write on {t} for insert with check (tenant = current_user);")
    return "\n".join(parts)


def _damage(conn: psycopg.Connection[Any]) -> None:
    def ident(i: int) -> sql.Identifier:
        return sql.Identifier("bench", f"t{i:03d}")
    for i in range(MISSING_TABLES):
        conn.execute(sql.SQL("drop table {}").format(ident(i)))
    rest = range(MISSING_TABLES, TABLES)
    for n, i in enumerate(rest[:MISSING_COLUMNS]):
        conn.execute(sql.SQL("alter table {} drop column {}").format(ident(i), sql.Identifier("ef"[n % 2])))
    for i in rest[MISSING_COLUMNS:MISSING_COLUMNS + MISSING_INDEXES]:
        conn.execute(sql.SQL("drop index {}").format(sql.Identifier("bench", f"t{i:03d}_d")))
    for i in rest[-MISSING_POLICIES:]:
        conn.execute(sql.SQL("drop policy {} on {}").format(sql.Identifier(f"t{i:03d}_write"), ident(i)))


def _migra(actual_dsn: str, expected_dsn: str, ours: float) -> str:
    """Time migra (if installed in a side environment) on the same two databases."""
    migra = os.environ.get("HEALSTACK_MIGRA") or shutil.which("migra")
    if not migra:
        return "migra: not installed (nox -s bench installs it in a side environment when it can)."

    outputs: list[subprocess.CompletedProcess[str]] = []

    def once() -> float:
        command = [migra, "--unsafe", "--schema", "bench", actual_dsn, expected_dsn]
        return timed(lambda: outputs.append(subprocess.run(command, capture_output=True, text=True, check=False,
                                                           timeout=300)))
    seconds, samples = median_of(3, once)
    last = outputs[-1]
    if last.returncode not in (0, 2):  # migra: 2 means "differences found"
        return f"migra failed (exit {last.returncode}): {last.stderr.strip().splitlines()[-1:]}"
    statements = sum(1 for line in last.stdout.splitlines() if line.rstrip().endswith(";"))
    return (f"migra on the same two databases (schema bench only, median of 3): {seconds:.3f} s "
            f"({', '.join(f'{s:.3f}' for s in samples)}), {statements} statements; healstack's snapshot of both "
            f"databases + diff took {ours:.3f} s, {seconds / ours:.1f}x faster.")


def run(settings: Settings) -> str:
    server = EmbeddedServer(settings.pg_bindir or default_bindir()).start()
    try:
        expected_dsn = create_database(server.dsn(), "bench_expected")
        with connect(expected_dsn, autocommit=True) as conn:
            conn.execute(_schema_sql().encode())
        actual_dsn = create_database(server.dsn(), "bench_actual", template="bench_expected")
        with connect(actual_dsn, autocommit=True) as conn:
            _damage(conn)
        with connect(expected_dsn) as want, connect(actual_dsn) as have:
            def snapshot_and_diff() -> float:
                return timed(lambda: catalog.diff(catalog.take(want), catalog.take(have)))
            seconds, samples = median_of(3, snapshot_and_diff)
            expected, actual = catalog.take(want), catalog.take(have)
        differences = catalog.diff(expected, actual)
        delta = plan_delta(expected, actual)
        text = render_delta(delta)
        started = time.perf_counter()
        with connect(actual_dsn, autocommit=True) as conn:
            conn.execute(text.encode())
            after_first = catalog.take(conn)
            conn.execute(text.encode())
            after_second = catalog.take(conn)
        apply_s = time.perf_counter() - started
        remaining = catalog.diff(expected, after_first)
        changed_by_second = catalog.diff(after_first, after_second)
        with connect(actual_dsn, autocommit=True) as conn:
            _damage(conn)  # damaged again, for migra
        migra_line = _migra(server.dsn("bench_actual"), server.dsn("bench_expected"), seconds)
    finally:
        server.stop()
    by_kind = Counter(d.kind for d in differences)
    objects = sum(len(v) for v in expected.values())
    lines = [
        f"Schema: {TABLES} tables x (8 columns, 3 indexes + primary key, RLS, 2 policies); {objects} catalog "
        f"objects in all. Damage: {MISSING_TABLES} tables, {MISSING_COLUMNS} columns, {MISSING_INDEXES} indexes "
        f"and {MISSING_POLICIES} policies dropped.",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| snapshot of both databases + diff, median of 3 | {seconds:.3f} s "
        f"({', '.join(f'{s:.3f}' for s in samples)}) | <= {TARGET_S} s {'met' if seconds <= TARGET_S else 'MISSED'} |",
        f"| differences found | {len(differences)} ({', '.join(f'{k} {v}' for k, v in sorted(by_kind.items()))}) | |",
        f"| delta statements | {delta.count} ({', '.join(f'{p} {len(s)}' for p, s in delta.statements.items() if s)})"
        f" | |",
        f"| refused | {len(delta.refused)} | 0 |",
        f"| differences left after applying the delta once | {len(remaining)} | 0 |",
        f"| catalog changes from applying it a second time | {len(changed_by_second)} | 0 |",
        f"| delta applied twice | {apply_s:.2f} s | |",
        "",
        "Every statement is accounted for: tables, columns, indexes, constraints, policies and RLS statements "
        "map one to one onto missing objects; grant statements set the privileges of the tables and identity "
        "sequences the delta re-creates.",
        "",
        migra_line,
    ]
    return str(write_report(settings.reports_dir, "verify", "Verify benchmark", lines))


def main() -> None:
    path = run(Settings.for_cli())
    print(Path(path).read_text())
