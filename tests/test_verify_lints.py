"""Every verify lint fires on a seeded instance and stays quiet on the fixed form."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest

from healstack.declarations import load_waivers
from healstack.errors import ConfigError
from healstack.results import Outcome
from healstack.verify.facts import gather
from healstack.verify.lints import LINTS, run_lint

BY_ID = {lint.id: lint for lint in LINTS}
REPO = Path(__file__).resolve().parent.parent
OWN = "(select auth.jwt() -> 'app_metadata' ->> 'project')"

# (lint, object it must name, defect statements, fix statements)
CASES = [
    ("HS401", "public.open_t", ["create table public.open_t (id int primary key)"],
     ["alter table public.open_t enable row level security"]),
    ("HS402", "public.facts", ["alter table public.facts disable row level security"],
     ["alter table public.facts enable row level security"]),
    ("HS403", "public.t403", ["create table public.t403 (id int primary key)",
                              "alter table public.t403 enable row level security"],
     ["create policy p on public.t403 for select to authenticated using (id = 1)"]),
    ("HS404", "public.t404", ["create table public.t404 (id int primary key)",
                              "alter table public.t404 enable row level security",
                              "alter table public.t404 owner to {role}"],
     ["alter table public.t404 force row level security"]),
    ("HS405", "public.spend.p405", ["create policy p405 on public.spend for update to authenticated using (true)"],
     [f"alter policy p405 on public.spend using (project = {OWN})"]),
    ("HS406", "public.facts.p406", ["create policy p406 on public.facts for insert to authenticated"],
     [f"alter policy p406 on public.facts with check (project = {OWN})"]),
    ("HS407", "public.orders.p407",
     ["create policy p407 on public.orders for select to authenticated"
      " using (project = (select auth.jwt() -> 'user_metadata' ->> 'project'))"],
     [f"alter policy p407 on public.orders using (project = {OWN})"]),
    ("HS408", "public.v408", ["create view public.v408 as select * from public.facts"],
     ["alter view public.v408 set (security_invoker = true)"]),
    ("HS409", "public.f409()",
     ["create function public.f409() returns int language sql security definer set search_path = '' as 'select 1'"],
     ["revoke execute on function public.f409() from public, anon, authenticated"]),
    ("HS410", "public.f410()", ["create function public.f410() returns int language sql as 'select 1'"],
     ["alter function public.f410() set search_path = ''"]),
    ("HS411", "public.events.p411",
     ["create policy p411 on public.events for select to authenticated"
      " using (project = auth.jwt() -> 'app_metadata' ->> 'project')"],
     [f"alter policy p411 on public.events using (project = {OWN})"]),
    ("HS412", "public.child412.child412_parent_id_fkey",
     ["create table public.parent412 (id int primary key)",
      "create table public.child412 (id int primary key, parent_id int references public.parent412 (id))"],
     ["create index on public.child412 (parent_id)"]),
    ("HS413", "public.dup413", ["create index dup413 on public.events (name, occurred_at desc)"],
     ["drop index public.dup413"]),
    ("HS414", "public.t414", ["create table public.t414 (id int)"],
     ["alter table public.t414 add primary key (id)"]),
    ("HS415", "citext", ["create extension citext schema public"],
     ["alter extension citext set schema extensions"]),
    ("HS416", "public.i416", ["create table public.t416 (x int primary key generated always as identity, v int)",
                              "insert into public.t416 (v) values (1), (1)",
                              "do $$ begin execute 'create unique index i416 on public.t416 (v)'; "
                              "exception when unique_violation then null; end $$",
                              "create unique index concurrently i416 on public.t416 (v)"],
     ["delete from public.t416 where x = 2", "reindex index concurrently public.i416"]),
    ("HS417", "public.v417", ["create view public.v417 as select id, email from auth.users"],
     ["revoke all on public.v417 from anon, authenticated"]),
    ("HS418", "public.events", ["create policy p418 on public.events for select to authenticated using (false)"],
     ["drop policy p418 on public.events"]),
    ("HS419", "public.mv419", ["create materialized view public.mv419 as select 1 as x"],
     ["revoke all on public.mv419 from anon, authenticated"]),
    ("HS420", "public.ft420", ["create extension file_fdw schema extensions",
                               "create server s420 foreign data wrapper file_fdw",
                               "create foreign table public.ft420 (x int) server s420 options (filename '/dev/null')"],
     ["revoke all on public.ft420 from anon, authenticated"]),
    ("HS421", "public.t421.fn", ["create table public.t421 (id int primary key, fn regprocedure)"],
     ["alter table public.t421 alter column fn type text"]),
    ("HS422", "public.t422", ["create table public.t422 (id int primary key, user_password text, api_key text)"],
     ["alter table public.t422 enable row level security"]),
    ("HS423", "public.t423.t423_email_fkey",
     ["create table public.t423 (id int primary key, email text references auth.users (email))"],
     ["alter table public.t423 drop constraint t423_email_fkey",
      "alter table public.t423 add column user_id uuid references auth.users (id)"]),
    ("HS424", "hstore", ["create extension hstore schema extensions version '1.4'"],
     ["alter extension hstore update"]),
    ("HS425", "storage.buckets.b425",
     ["insert into storage.buckets (id, name, public) values ('b425', 'b425', true)",
      "create policy p425 on storage.objects for select to anon using (bucket_id = 'b425')"],
     ["alter policy p425 on storage.objects using (bucket_id = 'b425' and name like 'public/%')"]),
    ("HS426", "pgmq.q_jobs", ["create schema pgmq", "create schema pgmq_public",
                              "grant usage on schema pgmq, pgmq_public to anon, authenticated",
                              "create table pgmq.q_jobs (msg_id bigint primary key, message jsonb)",
                              "grant select on pgmq.q_jobs to anon, authenticated"],
     ["alter table pgmq.q_jobs enable row level security"]),
    ("HS427", "public.t427", ["create extension if not exists pg_graphql",
                              "create table public.t427 (id int primary key, secret text)",
                              "grant select (id) on public.t427 to anon"],  # one column is enough to be seen
     ["revoke all on public.t427 from anon, authenticated"]),
]


def test_every_lint_has_a_case():
    assert {case[0] for case in CASES} == set(BY_ID)


def _flagged(conn, lint_id: str) -> set[str]:
    return {r.object for r in run_lint(BY_ID[lint_id], gather(conn), {}) if r.outcome is not Outcome.PASSED}


@pytest.mark.parametrize(("lint_id", "obj", "defect", "fix"), CASES, ids=[c[0] for c in CASES])
def test_lint_fires_on_defect_and_is_quiet_when_fixed(conn, lint_id, obj, defect, fix):
    if lint_id == "HS427" and not conn.execute(
            "select 1 from pg_available_extensions where name = 'pg_graphql'").fetchone():
        pytest.skip("pg_graphql (or healstack's stand-in, Postgres 18) is not available on this server")
    role = f"owner_{uuid.uuid4().hex[:8]}"
    conn.execute(f"create role {role} nologin")
    try:
        assert obj not in _flagged(conn, lint_id)
        for statement in defect:
            try:
                conn.execute(statement.format(role=role))
            except Exception:
                if "concurrently" not in statement:  # the failing concurrent build is the defect
                    raise
        assert obj in _flagged(conn, lint_id)
        result = next(r for r in run_lint(BY_ID[lint_id], gather(conn), {}) if r.object == obj)
        expected = Outcome.FAILED if BY_ID[lint_id].spec.severity == "error" else Outcome.WARNED
        assert result.outcome is expected and BY_ID[lint_id].spec.remedy in result.message
        for statement in fix:
            conn.execute(statement)
        assert obj not in _flagged(conn, lint_id)
    finally:
        conn.execute(f"drop owned by {role}")
        conn.execute(f"drop role {role}")


def test_shipped_schema_is_lint_clean(conn):
    facts, waivers = gather(conn), load_waivers(REPO / "checks" / "lint_waivers.toml")
    assert [r.line() for lint in LINTS for r in run_lint(lint, facts, waivers) if r.outcome is not Outcome.PASSED] \
        == []


def test_a_waiver_with_a_reason_passes_the_finding(conn, tmp_path):
    conn.execute("create table public.t414 (id int)")
    waivers_file = tmp_path / "waivers.toml"
    waivers_file.write_text('[[waiver]]\nlint = "HS414"\nobject = "public.t414"\nreason = "staging table, OPS-9"\n')
    [result] = run_lint(BY_ID["HS414"], gather(conn), load_waivers(waivers_file))
    assert result.outcome is Outcome.PASSED and result.message.startswith("waived: staging table, OPS-9")


@pytest.mark.parametrize("body", ['[[waiver]]\nlint = "HS414"\nobject = "public.t"\n',
                                  '[[waiver]]\nlint = "HS414"\nobject = "public.t"\nreason = "  "\n',
                                  "[[waiver]\n"])
def test_a_waiver_without_a_reason_or_malformed_is_refused(tmp_path, body):
    path = tmp_path / "waivers.toml"
    path.write_text(body)
    with pytest.raises(ConfigError, match=r"waivers\.toml"):
        load_waivers(path)


# peers' safe and unsafe examples (splinter's rls_policy_always_true, Postgres's own UPDATE semantics):
# (lint, statements, the policy or function, fires)
PEER_CASES = [
    ("HS405", ["create policy p on public.spend for update to authenticated using (1 = 1)"], "public.spend.p", True),
    ("HS405", ["create policy p on public.spend for insert to authenticated with check ('a' = 'a')"],
     "public.spend.p", True),
    ("HS405", ["create policy p on public.spend for all to anon using (true or false)"], "public.spend.p", True),
    ("HS405", ["create policy p on public.spend for delete using (true)"], "public.spend.p", True),
    ("HS405", ["create policy p on public.spend for select to authenticated using (true)"], "public.spend.p", False),
    ("HS405", ["create policy p on public.spend as restrictive for update to authenticated using (true)"],
     "public.spend.p", False),
    ("HS405", ["create policy p on public.spend for update to service_role using (true)"], "public.spend.p", False),
    ("HS405", ["create policy p on public.spend for update to authenticated using (1 = 2)"], "public.spend.p", False),
    ("HS406", [f"create policy p on public.facts for update to authenticated using (project = {OWN})"],
     "public.facts.p", False),
    ("HS409", ["create function public.on_signup() returns trigger language plpgsql security definer"
               " set search_path = '' as 'begin return new; end'"], "public.on_signup()", False),
    ("HS408", ["create schema priv", "create table priv.t (id int)", "create view public.v as select id from priv.t"],
     "public.v", True),  # a private schema the API roles cannot read, read by the view's owner for them
    *[("HS408", [f"create view public.v with (security_invoker = {value}) as select * from public.facts"],
       "public.v", False) for value in ("on", "1", "yes", "TRUE")],
    ("HS417", ["create view public.v with (security_invoker = on) as select id, email from auth.users"],
     "public.v", False),  # the caller's own rights apply, and they do not reach auth.users
    ("HS419", ["create materialized view public.mv as select 1 as x",
               "revoke select on public.mv from anon, authenticated"], "public.mv", False),  # writes cannot reach it
    # splinter's unsupported_reg_types: regclass, regtype and regrole survive pg_upgrade; arrays do not escape
    *[("HS421", [f"create table public.t (id int primary key, c {kind})"], "public.t.c", fires)
      for kind, fires in (("regclass", False), ("regtype", False), ("regrole", False), ("regproc[]", True),
                          ("regconfig", True))],
    # splinter's sensitive_columns_exposed: whole words of the name, only where the API reads without RLS
    *[("HS422", [f"create table public.t (id int primary key, \"{column}\" text)"], "public.t", fires)
      for column, fires in (("password", True), ("API-Key", True), ("ssn", True), ("cvv", True),
                            ("pinned", False), ("secretary", False), ("tokens_used", False))],
    ("HS422", ["create table public.t (id int primary key, password text)",
               "revoke all on public.t from anon, authenticated"], "public.t", False),
    # splinter's public_bucket_allows_listing cases: an insert policy, a restrictive one, a private bucket and
    # a folder-scoped select stay quiet; an always-true select and one naming the bucket alone fire
    *[("HS425", ["insert into storage.buckets (id, name, public) values ($$a|b[1]^{x}'z$$, 'x', " + public + ")",
                 policy], "storage.buckets.a|b[1]^{x}'z", fires)
      for public, policy, fires in (
          ("true", "create policy p on storage.objects for insert to authenticated with check (true)", False),
          ("true", "create policy p on storage.objects as restrictive for select to anon using (true)", False),
          ("false", "create policy p on storage.objects for select to anon using (true)", False),
          ("true", "create policy p on storage.objects for select to authenticated using "
                   "(bucket_id = $$a|b[1]^{x}'z$$ and name like 'public/%')", False),
          ("true", "create policy p on storage.objects for select to authenticated using (true)", True),
          ("true", "create policy p on storage.objects for all to public using (1 = 1)", True),
          ("true", "create policy p on storage.objects for select to anon using (bucket_id = $$a|b[1]^{x}'z$$)",
           True))],
]


@pytest.mark.parametrize(("lint_id", "statements", "obj", "fires"), PEER_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(PEER_CASES)])
def test_peer_examples(conn, lint_id, statements, obj, fires):
    for statement in statements:
        conn.execute(statement)
    assert (obj in _flagged(conn, lint_id)) is fires


def test_an_update_policy_without_with_check_still_checks_the_new_row(conn):
    """Why HS406 leaves UPDATE alone: Postgres applies the USING expression to the updated row as well."""
    conn.execute("create table public.t406 (id int primary key, project text)")
    conn.execute("alter table public.t406 enable row level security")
    conn.execute("grant select, update on public.t406 to authenticated")
    conn.execute(f"create policy own on public.t406 for select to authenticated using (project = {OWN})")
    conn.execute(f"create policy upd on public.t406 for update to authenticated using (project = {OWN})")
    conn.execute("insert into public.t406 values (1, 'p1')")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"), conn.transaction():
        conn.execute("set local role authenticated")
        conn.execute("select set_config('request.jwt.claims', '{\"app_metadata\": {\"project\": \"p1\"}}', true)")
        conn.execute("update public.t406 set project = 'p2' where id = 1")
    assert "public.t406.upd" not in _flagged(conn, "HS406")


def test_the_leak_probes_leave_trigger_functions_alone(conn):
    """HS502 probes what the API can call; a trigger function runs only as a trigger."""
    from healstack.rls.leaks import exposed_objects
    conn.execute("create function public.on_signup() returns trigger language plpgsql security definer"
                  " set search_path = '' as 'begin return new; end'")
    conn.execute("create function public.callable() returns int language sql security definer"
                  " set search_path = '' as 'select 1'")
    names = {obj.name for obj in exposed_objects(conn)}
    assert "callable" in names and "on_signup" not in names
