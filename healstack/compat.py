"""Supabase compatibility on vanilla Postgres: the roles, auth schema and defaults the stack relies on,
and the platform a Supabase project has before its first migration (storage, realtime, default extensions)."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import psycopg

from healstack.errors import ConfigError


def compat_sql(name: str = "supabase_compat") -> str:
    return files("healstack").joinpath(f"sql/{name}.sql").read_text(encoding="utf-8")


def is_supabase(conn: psycopg.Connection[Any]) -> bool:
    """A real Supabase database: its admin role on the server and its auth schema in this database.
    (A new database on a Supabase server has the roles but no auth schema: compat fills it in.)"""
    row = conn.execute("select exists (select from pg_roles where rolname = 'supabase_admin')"
                       " and to_regprocedure('auth.jwt()') is not null").fetchone()
    return bool(row and row[0])


def in_place(conn: psycopg.Connection[Any]) -> bool:
    """Everything compat creates is there already: an administrator prepared the database, and a migration
    role without the rights to redo its grants can still apply."""
    row = conn.execute(
        "select (select count(*) from pg_roles where rolname in ('anon', 'authenticated', 'service_role',"
        " 'authenticator')) = 4 and to_regnamespace('extensions') is not null and to_regclass('auth.users')"
        " is not null and to_regprocedure('auth.jwt()') is not null and to_regprocedure('auth.uid()') is not null"
        " and to_regprocedure('auth.role()') is not null and to_regprocedure('auth.email()') is not null").fetchone()
    return bool(row and row[0])


def _remedy(message: str) -> str:
    """What the role lacks, read from Postgres's own refusal rather than assumed."""
    lowered = message.lower()
    if "bypassrls" in lowered:
        return "service_role is created BYPASSRLS, which only a superuser (or a BYPASSRLS role) may grant"
    if "create role" in lowered:
        return "the roles anon, authenticated, service_role and authenticator are missing and need CREATEROLE"
    if "database" in lowered:
        return "the schemas auth and extensions need CREATE on the database"
    return "run this once as the database owner or a superuser"


def ensure_supabase_compat(conn: psycopg.Connection[Any]) -> str:
    """Create what is missing (idempotent, one transaction). Returns what was done, for the evidence log."""
    if is_supabase(conn):
        return "skipped: Supabase database (role supabase_admin and auth.jwt() exist)"
    if in_place(conn):
        done = "in place: roles, schemas auth and extensions, auth functions (prepared before; not redone)"
    else:
        try:
            with conn.transaction():
                conn.execute(compat_sql().encode())
        except psycopg.errors.InsufficientPrivilege as e:
            raise ConfigError(f"preparing Supabase's roles and auth schema: {e.diag.message_primary}; "
                              f"{_remedy(e.diag.message_primary or '')}") from e
        done = "ensured: roles anon, authenticated, service_role, authenticator; schema auth; default privileges"
    return f"{done}; {ensure_platform(conn)}"


def ensure_platform(conn: psycopg.Connection[Any]) -> str:
    """Storage, realtime, the publication, the default extensions and the search_path, once per database.
    A role that may not create them gets a note, not a failure: migrations that need them then say so."""
    row = conn.execute("select to_regclass('storage.objects') is not null").fetchone()
    if row and row[0]:
        return "platform in place"
    try:
        with conn.transaction():
            conn.execute(compat_sql("supabase_platform").encode())
    except psycopg.errors.InsufficientPrivilege as e:
        return f"platform schemas not created ({e.diag.message_primary})"
    conn.execute("set search_path to \"$user\", public, extensions")  # the database's new default, now
    return "platform ensured: auth.users columns, storage, realtime, supabase_realtime, default extensions"
