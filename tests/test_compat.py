"""Supabase compatibility: the roles and auth functions exist as on Supabase, and Supabase is left alone."""

from __future__ import annotations

import json

import pytest

from healstack.compat import ensure_supabase_compat
from healstack.db import connect


def test_roles_have_supabase_attributes(conn):
    rows = conn.execute(
        "select rolname, rolcanlogin, rolinherit, rolbypassrls from pg_roles"
        " where rolname in ('anon', 'authenticated', 'service_role', 'authenticator') order by rolname").fetchall()
    assert rows == [("anon", False, False, False), ("authenticated", False, False, False),
                    ("authenticator", True, False, False), ("service_role", False, False, True)]
    for role in ("anon", "authenticated", "service_role"):
        member = conn.execute("select pg_has_role('authenticator', %s, 'member')", [role]).fetchone()
        assert member == (True,)


@pytest.mark.parametrize("function", ["jwt()", "uid()", "role()", "email()"])
def test_auth_functions_pin_an_empty_search_path(conn, function):
    config = conn.execute("select proconfig from pg_proc where oid = %s::regprocedure",
                          [f"auth.{function}"]).fetchone()
    assert config == (["search_path=\"\""],)


def test_auth_functions_read_request_jwt_claims(conn):
    claims = {"sub": "7c4b3f1e-0000-4000-8000-000000000001", "role": "authenticated", "email": "a@example.com",
              "app_metadata": {"project": "occ"}}
    with conn.transaction():
        conn.execute("select set_config('request.jwt.claims', %s, true)", [json.dumps(claims)])
        row = conn.execute("select auth.uid()::text, auth.role(), auth.email(), auth.jwt() -> 'app_metadata'"
                           " ->> 'project'").fetchone()
    assert row == (claims["sub"], "authenticated", "a@example.com", "occ")
    assert conn.execute("select auth.uid(), auth.jwt()").fetchone() == (None, None)


def test_default_privileges_give_api_roles_new_tables(conn):
    conn.execute("create table public.probe (id int)")
    granted = conn.execute(
        "select array_agg(distinct grantee::regrole::text order by grantee::regrole::text)"
        " from pg_class c, aclexplode(c.relacl) where c.oid = 'public.probe'::regclass").fetchone()
    assert set(granted[0]) >= {"anon", "authenticated", "service_role"}


def test_running_compat_again_changes_nothing(conn):
    before = conn.execute("select count(*) from pg_proc where pronamespace = 'auth'::regnamespace").fetchone()
    assert ensure_supabase_compat(conn).startswith("in place")  # and so not redone
    assert conn.execute("select count(*) from pg_proc where pronamespace = 'auth'::regnamespace").fetchone() == before


def test_a_supabase_database_is_not_touched(empty_db):
    supabase_jwt = "create function auth.jwt() returns jsonb language sql as $$ select '{}'::jsonb $$"
    with connect(empty_db, autocommit=True) as conn:
        conn.execute("create schema auth")
        conn.execute(supabase_jwt)
        conn.execute("create role supabase_admin nologin")
        try:
            assert ensure_supabase_compat(conn).startswith("skipped")
            assert conn.execute("select to_regclass('auth.users'), to_regprocedure('auth.uid()')").fetchone() == (
                None, None)
        finally:
            conn.execute("drop role supabase_admin")


def test_a_new_database_on_a_supabase_server_gets_the_auth_schema(empty_db):
    with connect(empty_db, autocommit=True) as conn:
        conn.execute("create role supabase_admin nologin")
        try:
            assert ensure_supabase_compat(conn).startswith("ensured")
            assert conn.execute("select to_regprocedure('auth.jwt()') is not null").fetchone() == (True,)
        finally:
            conn.execute("drop role supabase_admin")


def test_api_roles_hold_no_truncate_or_maintain_anywhere(conn):
    privileges = "TRUNCATE, MAINTAIN" if conn.info.server_version >= 170000 else "TRUNCATE"
    holders = conn.execute(
        "select c.relname, r.rolname from pg_class c cross join pg_roles r"
        " where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'v')"
        " and r.rolname in ('anon', 'authenticated') and has_table_privilege(r.oid, c.oid, %s)",
        [privileges]).fetchall()
    assert holders == []
