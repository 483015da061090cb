"""Migration safety lint: each rule fires on an unsafe sample and stays quiet on the safe form."""

from __future__ import annotations

from pathlib import Path

import pytest

from healstack import registry
from healstack.errors import ConfigError
from healstack.migrate.files import NO_TRANSACTION, Migration
from healstack.migrate.lint import lint_migration
from healstack.results import Outcome

pytestmark = pytest.mark.any_postgres  # no server involved: run once (see pyproject.toml)

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
    # (a file of that one statement runs outside a transaction by itself: it needs company to be refused)
    ("HS007", "create index concurrently if not exists e_idx on public.events (name);\nselect 1;",
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

    from healstack.declarations import load_waivers
    from healstack.migrate.files import discover

    waivers = load_waivers(REPO / "checks" / "lint_waivers.toml")
    for migration in discover(REPO / "migrations"):
        results = lint_migration(migration, HOUSE, waivers)
        # a finding a statement or the waiver file accepts, with its reason, is warned; nothing may be refused
        assert all(r.outcome is Outcome.PASSED or (r.outcome is Outcome.WARNED and ("(allowed)" in r.message
                                                                                   or "(waived: " in r.message))
                   for r in results), [r.line() for r in results]


# squawk's hazards (its rule named beside each), with idempotency (HS006) off so that only the hazard is
# judged: (rule, unsafe statement on an existing table, the safe form of the same intent)
HAZARDS = [
    # constraint-missing-not-valid
    ("HS009", "alter table public.events add constraint e_chk check (length(name) > 0);",
     f"{NO_TRANSACTION}\nalter table public.events add constraint e_chk check (length(name) > 0) not valid;\n"
     "alter table public.events validate constraint e_chk;"),
    # ... and validated in the transaction that added it, the lock NOT VALID avoided is held anyway
    ("HS009", "alter table public.events add constraint e_chk check (length(name) > 0) not valid;\n"
              "alter table public.events validate constraint e_chk;",
     "alter table public.events add constraint e_chk check (length(name) > 0) not valid;"),
    # a validated check on another column does not make SET NOT NULL safe (squawk: adding-not-nullable-field)
    ("HS005", f"{NO_TRANSACTION}\nalter table public.events add constraint n_chk check (name is not null) not valid;\n"
              "alter table public.events validate constraint n_chk;\n"
              "alter table public.events alter column user_id set not null;",
     f"{NO_TRANSACTION}\nalter table public.events add constraint u_chk check (user_id is not null) not valid;\n"
     "alter table public.events validate constraint u_chk;\n"
     "alter table public.events alter column user_id set not null;"),
    ("HS009", "alter table public.orders add constraint o_fk foreign key (project) references public.p (id);",
     "alter table public.orders add constraint o_fk foreign key (project) references public.p (id) not valid;"),
    ("HS010", "alter table public.events add constraint e_uq unique (event_id);",  # disallowed-unique-constraint
     "alter table public.events add constraint e_uq unique using index e_uq_idx;"),
    ("HS010", "alter table public.events add primary key (id);",  # adding-primary-key-constraint
     "create table public.fresh (id int);\nalter table public.fresh add primary key (id);"),
    ("HS011", "alter table public.events add column n int not null;",  # adding-required-field
     "alter table public.events add column n int not null default 0;"),
    ("HS012", "alter table public.events add column g int generated always as (1) stored;",
     "alter table public.events add column g int;"),
    ("HS013", "drop index public.e_idx;",  # require-concurrent-index-deletion
     f"{NO_TRANSACTION}\ndrop index concurrently if exists public.e_idx;"),
    ("HS013", "reindex index public.e_idx;", f"{NO_TRANSACTION}\nreindex index concurrently public.e_idx;"),
    ("HS013", "alter table public.p detach partition public.p1;",
     f"{NO_TRANSACTION}\nalter table public.p detach partition public.p1 concurrently;"),
    ("HS014", "alter table public.events rename to events_old;",  # renaming-table
     "create or replace view public.events_old as select * from public.events;"),
    ("HS014", "alter table public.events rename column name to event_name;",  # renaming-column
     "alter table public.events add column event_name text;"),
    ("HS015", "alter table public.events alter column name drop not null;", "select 1;"),  # ban-drop-not-null
    ("HS001", "drop database analytics;", "select 1;"),  # ban-drop-database
]
# squawk's own safe examples that a naive rule refuses: a temporary table is new, a constraint dropped
# IF EXISTS first is replaced (it runs twice), an unnamed concurrent index cannot take IF NOT EXISTS
SAFE = [
    "create temporary table t (id int) on commit drop;\nalter table t add constraint c check (id > 0);",
    "alter table public.events drop constraint if exists e_chk;\n"
    "alter table public.events add constraint e_chk check (length(name) > 0) not valid;",
    f"{NO_TRANSACTION}\ncreate index concurrently on public.events (name);",
]


def _hazards(tmp_path: Path, sql: str, severity: dict[str, str]) -> list:
    path = tmp_path / "0099_sample.sql"
    path.write_text(sql + "\n")
    return lint_migration(Migration("0099", "sample", path), severity)


@pytest.mark.parametrize(("rule", "unsafe", "safe"), HAZARDS, ids=[f"{h[0]}-{i}" for i, h in enumerate(HAZARDS)])
def test_each_hazard_is_found_and_its_safe_form_passes(tmp_path, rule, unsafe, safe):
    found = [r for r in _hazards(tmp_path, unsafe, {"HS006": "off"}) if r.outcome is not Outcome.PASSED]
    assert rule in {r.check_id for r in found}, found
    assert registry.spec(rule).remedy in next(r for r in found if r.check_id == rule).message
    assert [r.outcome for r in _hazards(tmp_path, safe, {"HS006": "off"})] == [Outcome.PASSED]


@pytest.mark.parametrize("sql", SAFE)
def test_squawks_safe_examples_pass_with_idempotency_required(tmp_path, sql):
    assert [r.outcome for r in _hazards(tmp_path, sql, HOUSE)] == [Outcome.PASSED]


def test_a_waiver_names_an_accepted_finding_of_an_applied_file(tmp_path):
    path = tmp_path / "0099_sample.sql"
    path.write_text("drop index public.e_idx;\n")
    [result] = lint_migration(Migration("0099", "sample", path), HOUSE, {("HS013", "public.e_idx"): "shipped (OPS-1)"})
    assert result.outcome is Outcome.WARNED and "waived: shipped (OPS-1)" in result.message


def test_a_guard_does_not_hide_a_hazard(tmp_path):
    """What a DO block runs is linted too (idempotency aside: the guard is what provides it)."""
    sql = ("do $$ begin\n  if not exists (select from pg_constraint where conname = 'e_pk') then\n"
           "    alter table public.events add constraint e_pk primary key (id);\n  end if;\n"
           "  execute 'drop index public.e_idx';\nend $$;")
    found = {(r.check_id, r.outcome) for r in _hazards(tmp_path, sql, HOUSE)}
    assert found == {("HS010", Outcome.FAILED), ("HS013", Outcome.FAILED)}
    safe = ("do $$ begin\n  if not exists (select from pg_policies where policyname = 'p') then\n"
            "    create policy p on public.events for select using (true);\n  end if;\nend $$;")
    assert [r.outcome for r in _hazards(tmp_path, safe, HOUSE)] == [Outcome.PASSED]
    built_at_run_time = "do $$ begin execute format('drop index %I', 'e_idx'); end $$;"
    assert [r.outcome for r in _hazards(tmp_path, built_at_run_time, HOUSE)] == [Outcome.PASSED]
