"""Migration safety lint: each rule fires on an unsafe sample and stays quiet on the safe form."""

from __future__ import annotations

from pathlib import Path

import pytest

from healstack import registry
from healstack.errors import ConfigError
from healstack.migrate.files import NO_TRANSACTION, Migration
from healstack.migrate.lint import lint_migration
from healstack.results import Outcome

pytestmark = pytest.mark.any_postgres  # no server involved: once, in the Postgres 18 run

HOUSE = {"HS006": "error"}  # this stack's pyproject.toml: idempotent files are its house rule
# (rule, unsafe statement, safe form of the same intent)
CASES = [
    ("HS001", "drop table public.events;", "comment on table public.events is 'deprecated';"),
    ("HS001", "alter table public.events drop column user_id;", "comment on column public.events.user_id is 'unused';"),
    ("HS001", "truncate public.events;", "select 1;"),
    ("HS002", "alter table public.spend alter column spend type numeric(20, 4);",
     "alter table public.spend add column if not exists spend_wide numeric(20, 4);"),
    ("HS003", "create index if not exists spend_dt_idx on public.spend (dt);",
     "create table if not exists public.fresh (dt date);\n"
     "create index if not exists fresh_dt_idx on public.fresh (dt);"),
    ("HS004", "alter table public.events add column if not exists token uuid default gen_random_uuid();",
     "alter table public.events add column if not exists seen_at timestamptz default now();"),
    ("HS004", "alter table public.events add column if not exists seq bigserial;",
     "alter table public.events add column if not exists seq bigint;"),
    ("HS005", "alter table public.events alter column user_id set not null;",
     "alter table public.events validate constraint events_user_id_not_null;\n"
     "alter table public.events alter column user_id set not null;"),
    ("HS006", "create table public.t (id int);", "create table if not exists public.t (id int);"),
    ("HS006", "create extension pg_trgm;", "create extension if not exists pg_trgm;"),
    ("HS006", "create function public.f() returns int language sql as 'select 1';",
     "create or replace function public.f() returns int language sql as 'select 1';"),
    ("HS006", "create policy p on public.events for select using (true);",
     "do $$ begin if not exists (select from pg_policies where policyname = 'p') then "
     "create policy p on public.events for select using (true); end if; end $$;"),
    ("HS006", "alter table public.events add column note text;",
     "alter table public.events add column if not exists note text;"),
    ("HS007", "create index concurrently if not exists e_idx on public.events (name);",
     f"{NO_TRANSACTION}\ncreate index concurrently if not exists e_idx on public.events (name);"),
    ("HS008", "commit;", f"{NO_TRANSACTION}\nbegin;\nselect 1;\ncommit;"),
    ("HS008", "savepoint before_backfill;", "select 1;"),
    ("HS008", "rollback;", "select 1;"),
]


def _lint(tmp_path: Path, sql: str) -> list:
    path = tmp_path / "0099_sample.sql"
    path.write_text(sql + "\n")
    return lint_migration(Migration("0099", "sample", path), HOUSE)


@pytest.mark.parametrize(("rule", "unsafe", "safe"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_rule_fires_on_unsafe_and_is_quiet_on_safe(tmp_path, rule, unsafe, safe):
    fired = [r for r in _lint(tmp_path, unsafe) if r.outcome is Outcome.FAILED]
    assert rule in {r.check_id for r in fired}, fired
    hit = next(r for r in fired if r.check_id == rule)
    assert hit.message.startswith("0099_sample.sql:1: ") and registry.spec(rule).remedy in hit.message
    assert [r.outcome for r in _lint(tmp_path, safe)] == [Outcome.PASSED]


def test_allow_comment_with_reason_turns_refusal_into_warning(tmp_path):
    results = _lint(tmp_path, "-- healstack: allow HS001 legacy table, emptied and signed off in OPS-7\n"
                              "drop table public.legacy;")
    assert [(r.check_id, r.outcome) for r in results] == [("HS001", Outcome.WARNED)]


def test_allow_comment_without_reason_or_for_another_rule_does_not_count(tmp_path):
    for comment in ("-- healstack: allow HS001", "-- healstack: allow HS002 not this one"):
        results = _lint(tmp_path, f"{comment}\ndrop table public.legacy;")
        assert [(r.check_id, r.outcome) for r in results] == [("HS001", Outcome.FAILED)]


def test_allow_comment_covers_only_the_next_statement(tmp_path):
    results = _lint(tmp_path, "-- healstack: allow HS001 retired in OPS-7\ndrop table public.a;\n"
                              "drop table public.b;")
    assert [(r.object, r.outcome) for r in results] == [("public.a", Outcome.WARNED), ("public.b", Outcome.FAILED)]


def test_syntax_error_names_file_and_line(tmp_path):
    with pytest.raises(ConfigError, match=r"0099_sample.sql:3: syntax error"):
        _lint(tmp_path, "select 1;\n\ncreate tabel x (id int);")


def test_the_shipped_migrations_are_clean():
    from repo import REPO

    from healstack.migrate.files import discover

    for migration in discover(REPO / "migrations"):
        results = lint_migration(migration)
        # a finding a statement waives, with its reason, is shown as warned; nothing may be refused
        assert all(r.outcome is Outcome.PASSED or (r.outcome is Outcome.WARNED and r.message.endswith("(allowed)"))
                   for r in results), [r.line() for r in results]
