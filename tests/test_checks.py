"""healstack.checks (`pytest --pyargs healstack.checks`) passes on the healthy stack and fails, naming the object,
on each seeded defect; every result is a record in results.jsonl and in JUnit XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from repo import REPO

from healstack import run
from healstack.db import connect
from healstack.dq.rules import load_rules
from healstack.migrate.files import discover
from healstack.registry import Phase

SHIPPED = discover(REPO / "migrations")
RULES = load_rules(REPO / "checks" / "dq")


def failed(records: list[dict]) -> set[tuple[str, str]]:
    return {(r["check_id"], r["object"]) for r in records if r["outcome"] in ("failed", "error")}


def test_the_healthy_stack_passes_every_phase_with_one_record_per_result(guardrails):
    result, records = guardrails.run()
    assert result.ret == 0, result.stdout.str()
    assert failed(records) == set()
    ids = {r["check_id"] for r in records}
    assert {"HS000", "HS104", "HS105", "HS202", "HS300", "HS401", "HS501", "HS502", "HS503"} <= ids
    assert {r.id for r in RULES} <= ids
    assert {r["object"] for r in records if r["check_id"] == "HS104"} == {m.label for m in SHIPPED}
    order = [p.value for p in Phase]
    assert [r["phase"] for r in records] == sorted((r["phase"] for r in records), key=order.index)
    result.stdout.fnmatch_lines(["*= healstack =*", "  apply      *passed*", "  rls        *passed*"])


def test_pending_edited_and_unsafe_migrations_fail_the_apply_phase(guardrails, migrations_copy):
    (migrations_copy / "0099_more.sql").write_text("create table if not exists public.more (id int primary key);\n")
    (migrations_copy / "0098_cleanup.sql").write_text("drop table public.facts;\n")
    edited = migrations_copy / "0003_etl_state.sql"
    edited.write_text(edited.read_text() + "\n-- edited after apply\n")
    result, records = guardrails.run("-m", "apply")
    assert result.ret == 1
    assert {("HS104", "0099_more.sql"), ("HS102", "0003_etl_state.sql"), ("HS001", "public.facts")} <= failed(records)
    result.stdout.fnmatch_lines_random([
        "*HS104*0099_more.sql: pending: not in the target's ledger*",
        "*HS102*0003_etl_state.sql: edited after it was applied*",
        "*HS001*public.facts: 0098_cleanup.sql:1: DROP destroys data*",
    ])


def test_the_stacks_healthcheck_function_is_a_check(guardrails, migrated_db):
    with connect(migrated_db, autocommit=True) as conn:
        conn.execute("alter table public.agent_queries no force row level security")
    result, records = guardrails.run("-m", "apply")
    assert failed(records) == {("HS105", "public.system_healthcheck()")}
    result.stdout.fnmatch_lines(["*HS105*tables_without_force_rls: agent_queries*"])


def test_each_schema_difference_is_its_own_failure(guardrails, migrated_db):
    with connect(migrated_db, autocommit=True) as conn:
        conn.execute("drop index public.idx_metrics_day")
        conn.execute("alter table public.orders no force row level security")
    result, records = guardrails.run("-m", "parity")
    assert failed(records) == {("HS301", "indexes public.idx_metrics_day"), ("HS303", "relations public.orders")}
    result.stdout.fnmatch_lines_random([
        "*test_phase?parity? ?HS301 indexes public.idx_metrics_day?*",
        "*HS301*indexes public.idx_metrics_day is missing*",
        "*HS303*relations public.orders differs: rls_forced: expected True, found False*",
    ])


def test_a_lint_failure_names_the_object_and_the_fix_and_a_waiver_silences_one(guardrails, migrated_db, tmp_path,
                                                                               monkeypatch):
    with connect(migrated_db, autocommit=True) as conn:
        conn.execute("create table public.leaky (id int primary key)")
        conn.execute("create table public.staging_import (id int)")
    waivers = tmp_path / "waivers.toml"
    waivers.write_text('[[waiver]]\nlint = "HS414"\nobject = "public.staging_import"\n'
                       'reason = "append-only staging, truncated after each import"\n')
    result, records = guardrails.run("-m", "lints", f"--healstack-lint-waivers={waivers}")
    assert ("HS401", "public.leaky") in failed(records)
    result.stdout.fnmatch_lines(["*HS401*public.leaky: RLS is disabled*fix: alter table*enable row level security*"])
    [waived] = [r for r in records if r["check_id"] == "HS414" and r["object"] == "public.staging_import"]
    assert waived["outcome"] == "passed" and waived["message"].startswith("waived: append-only staging")


RLS_DEFECTS = [
    ("rls-disabled", ["alter table public.events disable row level security"],
     "*events: tenant select: sees * rows of other tenants*"),
    ("using-true", ["create policy spend_open on public.spend for select to authenticated using (true)"],
     "*spend: tenant select: sees * rows of other tenants*"),
    # Postgres reads an INSERT policy without WITH CHECK as admitting no row: the tenant loses its own inserts
    ("insert-without-check", ["drop policy facts_insert_own_project on public.facts",
                              "create policy facts_insert_any on public.facts for insert to authenticated"],
     "*facts: tenant insert own: expected to be allowed, was rejected by WITH CHECK*"),
    ("insert-check-true", ["drop policy facts_insert_own_project on public.facts",
                           "create policy facts_insert_any on public.facts for insert to authenticated"
                           " with check (true)"],
     "*facts: tenant insert other: expected to be denied, affected 1 rows*"),
    ("view-without-security-invoker", ["alter view public.decision_sync_events set (security_invoker = false)"],
     "*tenant reads * rows of another tenant through relation public.decision_sync_events*"),
    ("definer-function", ["create function public.all_facts() returns setof public.facts language sql"
                          " security definer set search_path = '' as 'select * from public.facts'"],
     "*tenant reads * rows of another tenant through function public.all_facts()*"),
    ("force-removed", ["alter table public.agent_queries owner to authenticated",
                       "alter table public.agent_queries no force row level security"],
     "*agent_queries: tenant select: sees * rows of other tenants*"),
    ("user-metadata", ["alter policy orders_select_own_project on public.orders"
                       " using (project = (select auth.jwt() -> 'user_metadata' ->> 'project'))"],
     "*orders: tenant select: sees * rows of other tenants*"),
    ("table-not-in-contract", ["create table public.newcomer (id int primary key)"],
     "*HS503*public.newcomer: table has no entry in the RLS contract*"),
]


@pytest.mark.parametrize(("statements", "expected"), [d[1:] for d in RLS_DEFECTS], ids=[d[0] for d in RLS_DEFECTS])
def test_each_seeded_rls_defect_is_caught(guardrails, migrated_db, statements, expected):
    with connect(migrated_db, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)
    result, records = guardrails.run("-m", "rls")
    assert result.ret == 1 and failed(records)
    result.stdout.fnmatch_lines([expected])


def test_bad_rows_fail_their_rule_naming_its_declaration_and_a_warn_rule_only_warns(guardrails, migrated_db):
    with connect(migrated_db, autocommit=True) as conn:
        conn.execute("insert into public.events (project, event_id, name, user_id, occurred_at) values"
                     " ('p', 'e1', 'page_view', 'u1', now() + interval '3 days'),"
                     " ('p', 'e2', 'Bad Name', 'u1', now() - interval '1 hour')")
        conn.execute("insert into public.spend (project, platform, account_id, campaign_id, dt, spend)"
                     " values ('p', 'meta', 'a', 'c', current_date, 2000000)")
    result, records = guardrails.run("-m", "dq")
    assert {c for c, _ in failed(records)} == {"events.not_in_future", "spend.amount_plausible"}
    [name_format] = [r for r in records if r["check_id"] == "events.name_format"]
    assert name_format["outcome"] == "warned"  # declared severity warn: listed, not failed
    result.stdout.fnmatch_lines_random([
        "*events.not_in_future*1 violations of 2 rows*declared at events.toml:*",
        "*spend.amount_plausible*1 violations of 1 rows*declared at spend.toml:*",
        "warnings (*", "*events.name_format*",
    ])


def test_a_phase_that_breaks_is_an_error_record_and_fails_the_run(guardrails, monkeypatch):
    def broken(ctx: object) -> list:
        raise RuntimeError("a bug in a phase")

    monkeypatch.setitem(run.PHASES, Phase.HEALTH, broken)
    result, records = guardrails.run("-m", "health")
    assert result.ret == 1
    assert [(r["check_id"], r["outcome"], r["message"]) for r in records if r["phase"] == "health"] == [
        ("HS999", "error", "RuntimeError: a bug in a phase")]
    assert "FAILED" in (guardrails.last_run / "run_summary.md").read_text()


def test_not_evaluated_is_a_skip_with_its_reason_never_a_pass_or_a_failure(guardrails):
    result, records = guardrails.run("-m", "dq", "-v")
    skipped = [r for r in records if r["outcome"] == "not_evaluated"]
    assert skipped and result.ret == 0
    result.stdout.fnmatch_lines(["*SUBSKIPPED[[]events.fresh public.events.occurred_at[]]*", "not evaluated (*",
                                 "  events.fresh public.events.occurred_at: no row with a past timestamp*"])


def test_every_record_reaches_junit_xml(guardrails, migrated_db, pytester):
    with connect(migrated_db, autocommit=True) as conn:
        conn.execute("drop index public.idx_metrics_day")
    junit = pytester.path / "junit.xml"
    _, records = guardrails.run("-m", "parity", f"--junitxml={junit}")
    properties = [json.loads(p.get("value", "")) for p in ET.parse(junit).iter("property")
                  if p.get("name") == "healstack"]
    assert [(p["check_id"], p["object"], p["outcome"]) for p in properties] == [
        (r["check_id"], r["object"], r["outcome"]) for r in records]
    assert properties[0]["evidence"]["kind"] == "indexes"


def test_every_record_reaches_a_json_report(guardrails, pytester):
    log = pytester.path / "report.jsonl"
    _, records = guardrails.run("-m", "rls", f"--report-log={log}")
    reports = [json.loads(line) for line in log.read_text().splitlines()]
    [teardown] = [r for r in reports if r.get("when") == "teardown" and "rls" in r.get("nodeid", "")]
    carried = [json.loads(value) for name, value in teardown["user_properties"] if name == "healstack"]
    assert len(carried) == len(records) and carried[0]["check_id"] == records[0]["check_id"] == "HS503"


def test_a_target_that_cannot_be_reached_ends_the_run_with_one_line_and_exit_2(pytester):
    pytester.makepyprojecttoml(f"""
        [tool.healstack]
        database_url = "postgresql://u:s3cretpw@127.0.0.1:1/x"
        migrations = "{REPO / 'migrations'}"
    """)
    result = pytester.runpytest("--pyargs", "healstack.checks", "-m", "apply")
    assert result.ret == 2
    result.stdout.no_fnmatch_line("*s3cretpw*")
    result.stderr.no_fnmatch_line("*s3cretpw*")
    assert "healstack: error: cannot connect to postgresql://u:***@127.0.0.1:1/x" in result.stdout.str() + \
        result.stderr.str()


@pytest.mark.parametrize("args", [["--collect-only", "-q"], ["--help"]], ids=["collect-only", "help"])
def test_collecting_or_asking_for_help_starts_no_server_and_opens_no_connection(pytester, tmp_path, monkeypatch,
                                                                               args):
    """A fake Postgres bindir records any start; an unreachable DATABASE_URL would fail any connection."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    started = tmp_path / "started"
    for tool in ("postgres", "initdb", "pg_ctl"):
        (bindir / tool).write_text(f"#!/bin/sh\ntouch {started}\nexit 1\n")
        (bindir / tool).chmod(0o755)
    monkeypatch.setenv("HEALSTACK_PG_BINDIR", str(bindir))
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    result = pytester.runpytest_subprocess("--pyargs", "healstack.checks", *args)
    assert result.ret == 0
    assert not started.exists() and not (pytester.path / "reports").exists()
    if args[0] == "--collect-only":
        result.stdout.fnmatch_lines(["*test_phase[[]apply[]]*", "*test_phase[[]dq[]]*"])


def test_warnings_fail_the_run_when_ci_asks(guardrails, migrated_db):
    with connect(migrated_db, autocommit=True) as conn:
        conn.execute("insert into public.events (project, event_id, name, user_id, occurred_at) values"
                     " ('p', 'e2', 'Bad Name', 'u1', now() - interval '1 hour')")
    result, records = guardrails.run("-m", "dq", "--healstack-warnings-fail=true")
    [name_format] = [r for r in records if r["check_id"] == "events.name_format"]
    assert result.ret == 1 and name_format["outcome"] == "failed" and "warnings_fail" in name_format["message"]
