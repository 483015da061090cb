"""What stands between healstack and the server: nothing, a pooler in session mode, or one in transaction mode
(Supabase's port 6543, pgbouncer's pool_mode = transaction). Detected from the server's side, not guessed from
the port: a transaction pooler hands one client's transactions to different server connections, so a session
lock or setting taken in one transaction is gone, or worse, left for another client, in the next."""

from __future__ import annotations

import enum
import os
import socket
from typing import Any

import psycopg

from healstack.db import connect, server_facts
from healstack.errors import ConfigError

PROBES = 3


class ConnectionPath(enum.StrEnum):
    DIRECT = "direct"
    SESSION_POOLER = "session pooler"
    TRANSACTION_POOLER = "transaction pooler"

    def meaning(self) -> str:
        return {
            ConnectionPath.DIRECT: "every phase can run",
            ConnectionPath.SESSION_POOLER: "every phase can run; throwaway databases need the pooler to route them",
            ConnectionPath.TRANSACTION_POOLER: "checks run; apply and the ETL refuse (their locks and concurrent "
                                               "index builds need one server connection for the whole run)",
        }[self]


def _local_port(conn: psycopg.Connection[Any]) -> int | None:
    """This client's port on its TCP connection, None on a Unix socket."""
    sock = socket.socket(fileno=os.dup(conn.pgconn.socket))
    try:
        name = sock.getsockname()
    finally:
        sock.close()
    return int(name[1]) if isinstance(name, tuple) else None


def _backend(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("select pg_backend_pid()").fetchone()
    assert row is not None
    return int(row[0])


def _behind_a_proxy(conn: psycopg.Connection[Any]) -> bool:
    """The server sees another client port than this client's own: something relays the connection."""
    row = conn.execute("select inet_client_port()").fetchone()
    seen = row[0] if row else None
    local = _local_port(conn)
    return seen is not None if local is None else seen != local


def detect(dsn: str) -> ConnectionPath:
    """Direct, session pooler or transaction pooler, from what the server reports and how backends are shared.

    In transaction mode a server connection goes back to the pool after each transaction: while a second client
    holds one in a transaction, the first gets another backend. pgbouncer hands out the backend released last,
    so the second client then holds the very backend the first just used; a pooler that rotates may not, so
    the probe is made a few times. In session mode neither ever happens. (Set [tool.healstack] pooler to be
    certain.)"""
    with connect(dsn, autocommit=True) as first:
        if not _behind_a_proxy(first):
            return ConnectionPath.DIRECT
        with connect(dsn, autocommit=True) as second:
            for _ in range(PROBES):
                before = _backend(first)
                with second.transaction():
                    if _backend(second) == before or _backend(first) != before:
                        return ConnectionPath.TRANSACTION_POOLER
    return ConnectionPath.SESSION_POOLER


def refuse_transaction_pooler(dsn: str, what: str, configured: str | None = None) -> ConnectionPath:
    """Stop ``what`` (apply, the ETL) before it starts when the target is reached through a transaction pooler."""
    path = ConnectionPath(configured) if configured else detect(dsn)
    if path is ConnectionPath.TRANSACTION_POOLER:
        raise ConfigError(f"{what} cannot run through a transaction pooler (its lock and concurrent index builds need "
                          "one server connection for the whole run); point DATABASE_URL at the session pooler or "
                          "the database directly (port 5432)")
    return path


def connection_evidence(dsn: str, configured: str | None = None) -> dict[str, Any]:
    """The runbook's connectivity evidence: database, role, server version, address and port, time, and the
    connection's path (detected, or as configured) with what it means for the run."""
    with connect(dsn, autocommit=True) as conn:
        facts = server_facts(conn)
    path = ConnectionPath(configured) if configured else detect(dsn)
    return {**facts, "now": str(facts["now"]), "path": path.value,
            "path_source": "configured" if configured else "detected", "path_means": path.meaning()}
