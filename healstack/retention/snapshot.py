"""`healstack backup`: the declared tables, whole, to one folder, every table read in the same snapshot (one
repeatable-read transaction) and its row count checked against the database in that snapshot. The last N
snapshot folders are kept; retention's folders are never pruned (they hold the only copy of deleted rows)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from healstack.retention import archive
from healstack.retention.job import BackupMismatch, record_run, stamp

PREFIX = "backup-"


def backup(conn: psycopg.Connection[Any], tables: list[str], backups: Path, keep: int) -> tuple[Path, dict[str, int]]:
    folder = backups / f"{PREFIX}{stamp()}"
    folder.mkdir(parents=True)
    rows: dict[str, int] = {}
    conn.execute("begin isolation level repeatable read read only")
    try:
        for table in tables:
            cols, key = archive.columns(conn, table)
            relation = archive.ident(table)
            part = archive.write_part(conn, folder, f"{table}.copy", table, cols, key, relation)
            count = conn.execute(sql.SQL("select count(*) from {}").format(relation)).fetchone()
            if count is None or count[0] != part.rows:
                raise BackupMismatch(f"{table}: {part.rows} rows written but the snapshot holds "
                                     f"{count[0] if count else '?'}; backup {folder} is not valid")
            archive.record(folder, part)
            rows[table] = part.rows
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # not a backup: nothing may restore from it
        raise
    finally:
        conn.execute("rollback")
    record_run(conn, "backup", folder, rows)
    prune(backups, keep)
    return folder, rows


def prune(backups: Path, keep: int) -> list[Path]:
    """Remove all but the newest ``keep`` snapshot folders (names sort by time)."""
    folders = sorted(p for p in backups.glob(f"{PREFIX}*") if (p / archive.MANIFEST).is_file())
    gone = folders[:-keep] if keep else folders
    for folder in gone:
        shutil.rmtree(folder)
    return gone
