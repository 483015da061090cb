"""A lock that survives poolers: a row in healstack.locks with an expiry. A session advisory lock lives on one
server connection, which a transaction pooler hands to others; a row is the same for every connection. A process
killed while holding it blocks others only until its lease expires."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import psycopg

from healstack.db import connect
from healstack.errors import ConfigError

TTL = timedelta(minutes=30)
_TABLE = """
create schema if not exists healstack;
create table if not exists healstack.locks (
    name text primary key,
    holder text not null,
    acquired_at timestamptz not null default now(),
    expires_at timestamptz not null
);
"""


@contextmanager
def lease(dsn: str, name: str, ttl: timedelta = TTL) -> Iterator[str]:
    """Hold lock ``name`` for the block (yields the holder's id); another holder's live lease is one line."""
    holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
    with connect(dsn, autocommit=True) as conn:
        try:
            with conn.transaction():  # two first runs creating the table at once: one waits for the other
                conn.execute("select pg_advisory_xact_lock(hashtextextended('healstack.locks', 0))")
                conn.execute(_TABLE)
            row = conn.execute(
                "insert into healstack.locks (name, holder, expires_at) values (%s, %s, now() + %s)"
                " on conflict (name) do update set holder = excluded.holder, acquired_at = now(),"
                " expires_at = excluded.expires_at where healstack.locks.expires_at < now() returning holder",
                [name, holder, ttl]).fetchone()
        except psycopg.errors.InsufficientPrivilege as e:
            raise ConfigError(f"the {name} lock needs a table healstack.locks ({e.diag.message_primary}); create "
                              "it once as the database owner, or grant this role CREATE on the database") from None
        if row is None:
            other = conn.execute("select holder, acquired_at, expires_at from healstack.locks where name = %s",
                                 [name]).fetchone()
            holder_of, since, until = other if other else ("?", "?", "?")
            raise ConfigError(f"another healstack {name} is running ({holder_of}, since {since}); try again when it "
                              f"ends (its lease runs out at {until} at the latest)")
    try:
        yield holder
    finally:
        with connect(dsn, autocommit=True) as conn:
            conn.execute("delete from healstack.locks where name = %s and holder = %s", [name, holder])
