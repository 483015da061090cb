"""Backups as Postgres's own COPY text (what pg_dump writes: every type round-trips exactly) in a folder with a
manifest: one JSON line per part naming its table, columns, row count and SHA-256. A part and its manifest line
are on disk (fsynced) before anything that depends on them happens, so whatever a kill leaves is restorable.
Restoring is idempotent: a row whose key is already there is left alone."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from healstack.errors import ConfigError

MANIFEST = "manifest.jsonl"


@dataclass(frozen=True)
class Part:
    file: str
    table: str
    columns: list[str]
    key: list[str]
    rows: int
    sha256: str


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def columns(conn: psycopg.Connection[Any], table: str) -> tuple[list[str], list[str]]:
    """The columns a backup holds (not generated ones, which Postgres computes again) and the primary key."""
    rows = conn.execute(
        "select a.attname, coalesce(a.attnum = any(i.indkey), false) from pg_attribute a left join pg_index i"
        " on i.indrelid = a.attrelid and i.indisprimary where a.attrelid = %s::regclass and a.attnum > 0"
        " and not a.attisdropped and a.attgenerated = '' order by a.attnum", [table]).fetchall()
    key = [name for name, in_key in rows if in_key]
    if not rows or not key:
        raise ConfigError(f"{table}: a table without a primary key cannot be backed up and restored by key")
    return [name for name, _ in rows], key


def ident(table: str) -> sql.Identifier:
    """``schema.name`` (or a bare name, in public) as an identifier."""
    schema, _, name = table.rpartition(".")
    return sql.Identifier(schema or "public", name)


def _names(names: list[str]) -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


def write_part(conn: psycopg.Connection[Any], folder: Path, file: str, table: str, cols: list[str], key: list[str],
               source: sql.Composable) -> Part:
    """COPY ``cols`` of ``source`` (``table`` itself, or the rows of it a job holds), in key order, to
    ``folder/file``, fsynced."""
    path = folder / file
    digest, rows = hashlib.sha256(), 0
    statement = sql.SQL("copy (select {} from {} order by {}) to stdout").format(_names(cols), source, _names(key))
    with path.open("wb") as out, conn.cursor().copy(statement) as copy:
        for chunk in copy:
            data = bytes(chunk)
            out.write(data)
            digest.update(data)
            rows += data.count(b"\n")
        out.flush()
        os.fsync(out.fileno())
    return Part(file, table, cols, key, rows, digest.hexdigest())


def record(folder: Path, part: Part) -> None:
    """Add ``part`` to the folder's manifest, on disk before the caller goes on."""
    with (folder / MANIFEST).open("a", encoding="utf-8") as out:
        out.write(json.dumps(part.__dict__, sort_keys=True) + "\n")
        out.flush()
        os.fsync(out.fileno())
    _fsync(folder)


def read_manifest(folder: Path) -> list[Part]:
    path = folder / MANIFEST
    if not path.is_file():
        raise ConfigError(f"{folder}: not a healstack backup (no {MANIFEST})")
    try:
        return [Part(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line]
    except (ValueError, TypeError) as e:
        raise ConfigError(f"{path}: not a healstack manifest ({e})") from None


def _check_file(folder: Path, part: Part) -> bytes:
    path = folder / part.file
    data = path.read_bytes() if path.is_file() else b""
    if hashlib.sha256(data).hexdigest() != part.sha256 or data.count(b"\n") != part.rows:
        raise ConfigError(f"{path}: missing or changed since it was written (checksum or row count differs)")
    return data


def load_part(conn: psycopg.Connection[Any], folder: Path, part: Part) -> str:
    """Read ``part`` back into a temporary table (dropped at commit); returns its name."""
    data = _check_file(folder, part)
    temp = f"healstack_part_{hashlib.sha256(part.file.encode()).hexdigest()[:12]}"
    conn.execute(sql.SQL("create temporary table {} on commit drop as select {} from {} with no data").format(
        sql.Identifier(temp), _names(part.columns), ident(part.table)))
    with conn.cursor().copy(sql.SQL("copy {} ({}) from stdin").format(sql.Identifier(temp),
                                                                      _names(part.columns))) as copy:
        copy.write(data)
    return temp


def fingerprint(conn: psycopg.Connection[Any], relation: sql.Composable, part: Part) -> tuple[int, str]:
    """Row count and an MD5 of every row's text in key order: equal for equal rows, computed in the database."""
    row = conn.execute(sql.SQL("select count(*), md5(coalesce(string_agg(r::text, e'\\n' order by {}), ''))"
                               " from (select {} from {}) as r").format(
        _names(part.key), _names(part.columns), relation)).fetchone()
    assert row is not None
    return int(row[0]), str(row[1])


def restore(conn: psycopg.Connection[Any], folder: Path) -> dict[str, int]:
    """Put every part's rows back (keys already present are left alone), each part in its own transaction;
    returns the rows inserted per table."""
    inserted: dict[str, int] = {}
    for part in read_manifest(folder):
        with conn.transaction():
            temp = load_part(conn, folder, part)
            cur = conn.execute(sql.SQL(
                "insert into {table} ({cols}) overriding system value select {cols} from {temp}"
                " on conflict do nothing").format(table=ident(part.table), cols=_names(part.columns),
                                                  temp=sql.Identifier(temp)))
            inserted[part.table] = inserted.get(part.table, 0) + cur.rowcount
    return inserted
