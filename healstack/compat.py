"""Supabase compatibility on vanilla Postgres: the roles, auth schema and defaults the stack relies on."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import psycopg

from healstack.errors import ConfigError


def compat_sql() -> str:
    return files("healstack").joinpath("sql/supabase_compat.sql").read_text(encoding="utf-8")


def is_supabase(conn: psycopg.Connection[Any]) -> bool:
    """A real Supabase database: its admin role on the server and its auth schema in this database.
    (A new database on a Supabase server has the roles but no auth schema: compat fills it in.)"""
    row = conn.execute("select exists (select from pg_roles where rolname = 'supabase_admin')"
                       " and to_regprocedure('auth.jwt()') is not null").fetchone()
    return bool(row and row[0])


def ensure_supabase_compat(conn: psycopg.Connection[Any]) -> str:
    """Create what is missing (idempotent, one transaction). Returns what was done, for the evidence log."""
    if is_supabase(conn):
        return "skipped: Supabase database (role supabase_admin and auth.jwt() exist)"
    try:
        with conn.transaction():
            conn.execute(compat_sql().encode())
    except psycopg.errors.InsufficientPrivilege as e:
        raise ConfigError("creating Supabase's roles and auth schema needs CREATEROLE: "
                          f"{e.diag.message_primary}") from e
    return "ensured: roles anon, authenticated, service_role, authenticator; schema auth; default privileges"
