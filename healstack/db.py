"""Connections and database-level helpers, with errors that say what was being done."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from typing import Any, Self

import psycopg
from psycopg import sql
from psycopg.abc import Params, Query
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import Row

from healstack.errors import ConfigError
from healstack.redact import redact, redact_dsn

APPLICATION_NAME = "healstack"

# ends every statement healstack sends (pg_stat_statements keeps a trailing comment, not a leading one): the
# health phase judges the stack's statements, not healstack's own catalog queries, data-quality scans and plans
MARK = "/* healstack */"


def _marked(query: Query) -> sql.Composed:
    """The statement with MARK at its end, before a final semicolon (after it, the comment would belong to no
    statement). As SQL pieces, never formatted: braces and placeholders stay as they are."""
    if isinstance(query, bytes):
        query = query.decode()
    if isinstance(query, str):
        text = query.rstrip()
        end = ";" if text.endswith(";") else ""
        return sql.Composed([sql.SQL(text.removesuffix(";")), sql.SQL(f"\n{MARK}{end}\n")])
    if isinstance(query, sql.Composable):
        return sql.Composed([query, sql.SQL(f"\n{MARK}")])
    raise TypeError(f"healstack does not send {type(query).__name__} statements")


class MarkedCursor(psycopg.Cursor[Row]):
    """A cursor whose statements carry MARK."""

    def execute(self, query: Query, params: Params | None = None, *, prepare: bool | None = None,
                binary: bool | None = None) -> Self:
        return super().execute(_marked(query), params, prepare=prepare, binary=binary)

    def executemany(self, query: Query, params_seq: Iterable[Params], *, returning: bool = False) -> None:
        super().executemany(_marked(query), params_seq, returning=returning)


def connect(dsn: str, *, autocommit: bool = False, dbname: str | None = None) -> psycopg.Connection[Any]:
    """Open a connection; an unreachable or misconfigured target is one clear line, secrets masked."""
    try:
        conninfo_to_dict(dsn)  # a malformed DSN is bad input, not a connection failure
        target = make_conninfo(dsn, dbname=dbname) if dbname else dsn
        # no server-side prepared statements: behind a transaction pooler (Supabase's port 6543) the next
        # transaction may reach a backend that has them or lacks them; healstack repeats few statements
        return psycopg.connect(target, autocommit=autocommit, application_name=APPLICATION_NAME,
                               connect_timeout=10, prepare_threshold=None, cursor_factory=MarkedCursor)
    except psycopg.ProgrammingError as e:
        raise ConfigError(f"invalid database URL {redact_dsn(dsn)!r}: {_last_line(e, dsn)}") from None
    except psycopg.OperationalError as e:
        raise ConfigError(f"cannot connect to {redact_dsn(dsn)}: {_last_line(e, dsn)}") from None


def _last_line(error: Exception, dsn: str) -> str:
    """libpq's own words, which may quote part of the DSN (an invalid percent-escape, say): the DSN's
    password is masked in every form it can take."""
    text = str(error).strip().splitlines()
    return redact(text[-1] if text else type(error).__name__, dsn=dsn)


def with_dbname(dsn: str, dbname: str) -> str:
    """The same server and credentials, another database."""
    return make_conninfo(dsn, dbname=dbname)


def create_database(dsn: str, name: str, *, template: str | None = None) -> str:
    """Create database ``name`` on the server of ``dsn`` and return its DSN."""
    query = sql.SQL("create database {}").format(sql.Identifier(name))
    if template:
        query = sql.SQL("{} template {}").format(query, sql.Identifier(template))
    with connect(dsn, autocommit=True) as conn:
        try:
            conn.execute(query)
        except psycopg.errors.InsufficientPrivilege as e:
            raise ConfigError(f"creating a throwaway database needs CREATEDB on {redact_dsn(dsn)}") from e
    return with_dbname(dsn, name)


def drop_database(dsn: str, name: str) -> None:
    """Drop database ``name`` (and its connections); a missing one is fine."""
    with connect(dsn, autocommit=True) as conn:
        conn.execute("select pg_terminate_backend(pid) from pg_stat_activity where datname = %s", [name])
        conn.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(name)))


@contextlib.contextmanager
def throwaway_database(dsn: str, name: str, *, template: str | None = None) -> Iterator[str]:
    """A database that exists for the duration of the block."""
    drop_database(dsn, name)
    target = create_database(dsn, name, template=template)
    try:
        yield target
    finally:
        drop_database(dsn, name)


# A scratch database older than this and without a connection is a leftover of a killed run.
STALE_AFTER_S = 3600


@contextlib.contextmanager
def scratch_database(dsn: str, prefix: str) -> Iterator[str]:
    """A throwaway database named ``<prefix>_<epoch>_<pid>``; the leftovers of earlier runs killed before
    they could drop theirs (older than an hour, nobody connected) are dropped first."""
    with connect(dsn, autocommit=True) as conn:
        row = conn.execute("select extract(epoch from now())::bigint").fetchone()
        now = int(row[0]) if row else 0
        stale = conn.execute(
            "select d.datname from pg_database as d where d.datname ~ %s"
            " and split_part(d.datname, '_', -2)::bigint < %s"
            " and not exists (select from pg_stat_activity as a where a.datname = d.datname)",
            [f"^{prefix}_[0-9]+_[0-9]+$", now - STALE_AFTER_S]).fetchall()
        for (name,) in stale:
            conn.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(name)))
    with throwaway_database(dsn, f"{prefix}_{now}_{os.getpid()}") as scratch:
        yield scratch


def server_facts(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """Connectivity evidence, as the staging runbook asks for it."""
    row = conn.execute(
        "select current_database(), current_user, current_setting('server_version'),"
        " coalesce(host(inet_server_addr()), 'local socket'), inet_server_port(), now()"
    ).fetchone()
    assert row is not None
    keys = ("database", "user", "server_version", "server_addr", "server_port", "now")
    return dict(zip(keys, row, strict=True))
