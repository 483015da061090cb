"""Retention and backups. Retention deletes only what it has backed up and read back: each batch of due rows
is locked, copied to a part file (fsynced, in the manifest), read back into the database and compared row for
row with what is locked, and only then deleted by key, in the same transaction that records it in
observability_logs. A kill at any point leaves every deleted row in a part; a batch whose backup does not match
is not deleted and stops the run."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from healstack.errors import ConfigError, HealstackError
from healstack.retention import archive
from healstack.retention.policy import RetentionPolicy, TablePolicy, due

BATCH = 1000
ROLE = "service_role"   # the agent tables are immutable for every other API role


class BackupMismatch(HealstackError):
    exit_code = 1


@dataclass
class Tally:
    table: str
    due: int = 0
    deleted: int = 0
    kept_by: dict[str, int] = field(default_factory=dict)   # keep rule -> rows it holds past the table's days


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def preview(conn: psycopg.Connection[Any], policy: TablePolicy, tz: str) -> Tally:
    """What a run would delete now, and what each keep rule holds back; reads only."""
    inner: list[Any] = []  # the select list's parameters come before the where clause's
    counts = [sql.SQL("count(*) filter (where {})").format(due(policy, tz, inner))]
    for keep in policy.keep:
        held = due(TablePolicy(policy.table, policy.age_column, policy.days, [keep]), tz, inner)
        counts.append(sql.SQL("count(*) filter (where not ({}))").format(held))
    outer: list[Any] = []
    past = due(TablePolicy(policy.table, policy.age_column, policy.days), tz, outer)
    row = conn.execute(sql.SQL("select {} from {} where {}").format(
        sql.SQL(", ").join(counts), archive.ident(policy.table), past), inner + outer).fetchone()
    assert row is not None
    return Tally(policy.table, int(row[0]), 0, {k.describe(): int(n) for k, n in zip(policy.keep, row[1:],
                                                                                      strict=True)})


def _as_service_role(conn: psycopg.Connection[Any]) -> None:
    try:
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(ROLE)))
    except psycopg.errors.InvalidParameterValue:
        raise ConfigError(f"retention deletes as {ROLE}, which this database lacks") from None
    except psycopg.errors.InsufficientPrivilege:
        raise ConfigError(f"retention deletes as {ROLE}; grant it to this role (grant {ROLE} to ...)") from None


def _audit(conn: psycopg.Connection[Any], table: str, has_project: bool, keys: sql.Composable, count: int,
           backup: Path) -> None:
    """One observability_logs row per project of the deleted rows (one row when the table has no project)."""
    project = sql.SQL("project") if has_project else sql.SQL("'*'")
    conn.execute(sql.SQL(
        "insert into public.observability_logs (project, level, message, metadata)"
        " select {project}, 'INFO', 'healstack retention deleted rows past their retention',"
        " jsonb_build_object('table', %s::text, 'rows', count(*), 'batch_rows', %s::int, 'backup', %s::text)"
        " from {keys} group by 1").format(project=project, keys=keys), [table, count, str(backup)])


def _batch(conn: psycopg.Connection[Any], policy: TablePolicy, tz: str, folder: Path, n: int) -> int:
    """Lock, back up, verify and delete one batch of due rows; the rows deleted (0: none left)."""
    cols, key = archive.columns(conn, policy.table)
    params: list[Any] = []
    condition = due(policy, tz, params)
    locked, table = sql.Identifier("healstack_due"), archive.ident(policy.table)
    with conn.transaction():
        _as_service_role(conn)
        conn.execute(sql.SQL("create temporary table {locked} on commit drop as select {cols} from {table}"
                             " where {due} order by {key} limit {n} for update").format(
            locked=locked, cols=sql.SQL(", ").join(map(sql.Identifier, cols)), table=table,
            due=condition, key=sql.SQL(", ").join(map(sql.Identifier, key)), n=sql.Literal(BATCH)), params)
        part = archive.write_part(conn, folder, f"{n:06d}-{policy.table}.copy", policy.table, cols, key, locked)
        if part.rows == 0:
            (folder / part.file).unlink()
            return 0
        archive.record(folder, part)
        temp = archive.load_part(conn, folder, part)
        if archive.fingerprint(conn, sql.Identifier(temp), part) != archive.fingerprint(conn, locked, part):
            raise BackupMismatch(f"{folder / part.file}: the backup read back differs from the rows it holds; "
                                 "nothing of this batch was deleted")
        on_key = sql.SQL(" and ").join(sql.SQL("t.{c} = d.{c}").format(c=sql.Identifier(c)) for c in key)
        deleted = conn.execute(sql.SQL("delete from {table} as t using {locked} as d where {on}").format(
            table=table, locked=locked, on=on_key)).rowcount
        if deleted != part.rows:
            raise BackupMismatch(f"{policy.table}: {deleted} rows would go but {part.rows} are backed up; "
                                 "nothing of this batch was deleted")
        _audit(conn, policy.table, "project" in cols, locked, deleted, folder)
        return deleted


def run(conn: psycopg.Connection[Any], policy: RetentionPolicy, tz: str, backups: Path,
        dry_run: bool) -> tuple[list[Tally], Path | None]:
    """Every table's retention (``dry_run``: only what would go); the backup folder when rows were deleted."""
    tallies = [preview(conn, table, tz) for table in policy.tables]
    if dry_run or not any(t.due for t in tallies):
        return tallies, None
    folder = backups / f"retention-{stamp()}"
    folder.mkdir(parents=True)
    n = 0
    for table, tally in zip(policy.tables, tallies, strict=True):
        while True:
            n += 1
            deleted = _batch(conn, table, tz, folder, n)
            tally.deleted += deleted
            if deleted < BATCH:
                break
    record_run(conn, "retention", folder, {t.table: t.deleted for t in tallies})
    return tallies, folder


def record_run(conn: psycopg.Connection[Any], kind: str, folder: Path, rows: dict[str, int]) -> None:
    """A finished backup or retention run, for the backup-age check (HS817)."""
    with conn.transaction():
        conn.execute("create schema if not exists healstack")
        conn.execute("create table if not exists healstack.backups (id bigint generated always as identity"
                     " primary key, kind text not null, folder text not null, rows jsonb not null,"
                     " finished_at timestamptz not null default now())")
        conn.execute("insert into healstack.backups (kind, folder, rows) values (%s, %s, %s::jsonb)",
                     [kind, str(folder), Jsonb(rows)])
