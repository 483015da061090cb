"""healstack's verify lints measured on splinter's own test suite (Supabase's database linter).

tests/peers/splinter_cases.json holds, for each time one of splinter's test files queries a lint, the
statements run before it and the rows splinter's expected output shows (extract_splinter.py made it from a
checkout of splinter). Each file's statements run here in one transaction on a database with the Supabase
platform, as splinter runs them; at each checkpoint healstack's lint for the same hazard is asked too:

- a checkpoint with findings is caught when the lint finds as many new objects, at the right severity
  (splinter's ERROR must fail the run; WARN and INFO must at least warn);
- a checkpoint splinter keeps quiet is a false alarm when the lint finds anything new.

The figures are printed (pytest -s) and held as a floor, so none can slip back unnoticed.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import psycopg
import pytest

from healstack.compat import ensure_platform, ensure_supabase_compat
from healstack.db import connect
from healstack.results import Outcome
from healstack.verify.facts import gather
from healstack.verify.lints import LINTS, run_lint

SAVEPOINT = re.compile(r"^\s*(savepoint|rollback\s+to|release)\b", re.IGNORECASE)
CASES = json.loads((Path(__file__).parent / "peers" / "splinter_cases.json").read_text())
BY_ID = {lint.id: lint for lint in LINTS}

# Where splinter's own fixture (test/fixtures.sql) differs from the Supabase platform healstack creates: a unique
# username on auth.users, no pg_graphql, and new tables readable through PUBLIC (not granted to each API role).
FIXTURE = """
alter table auth.users add column if not exists username text unique;
drop extension if exists pg_graphql;
alter default privileges in schema public revoke all on tables from anon, authenticated;
alter default privileges in schema public grant select on tables to public;
"""

# splinter's lint -> healstack's check for the same hazard, and splinter's level
PEERS: dict[str, tuple[str | None, ...]] = {
    "0001_unindexed_foreign_keys": ("HS412", "INFO"),
    "0002_auth_users_exposed": ("HS417", "ERROR"),
    "0003_auth_rls_initplan": ("HS411", "WARN"),
    "0004_no_primary_key": ("HS414", "INFO"),
    "0005_unused_index": (None, "INFO"),
    "0006_multiple_permissive_policies": ("HS418", "WARN"),
    "0007_policy_exists_rls_disabled": ("HS402", "ERROR"),
    "0008_rls_enabled_no_policy": ("HS403", "INFO"),
    "0009_duplicate_index": ("HS413", "WARN"),
    "0010_security_definer_view": ("HS408", "ERROR"),
    "0011_function_search_path_mutable": ("HS410", "WARN"),
    "0013_rls_disabled_in_public": ("HS401", "ERROR"),
    "0014_extension_in_public": ("HS415", "WARN"),
    "0015_rls_references_user_metadata": ("HS407", "ERROR"),
    "0016_materialized_view_in_api": ("HS419", "WARN"),
    "0017_foreign_table_in_api": ("HS420", "WARN"),
    "0018_unsupported_reg_types": ("HS421", "WARN"),
    "0019_insecure_queue_exposed_in_api": ("HS426", "ERROR"),
    "0021_fkey_to_auth_unique": ("HS423", "ERROR"),
    "0022_extension_versions_outdated": ("HS424", "WARN"),
    "0023_sensitive_columns_exposed": ("HS422", "ERROR"),
    "0024_rls_policy_always_true": ("HS405", "WARN"),
    "0025_public_bucket_allows_listing": ("HS425", "WARN"),
    "0026_pg_graphql_anon_table_exposed": ("HS427", "WARN", "visible to anon"),
    "0027_pg_graphql_authenticated_table_exposed": ("HS427", "WARN", "visible to authenticated"),
    "0028_anon_security_definer_function_executable": ("HS409", "WARN", "executable by anon"),
    "0029_authenticated_security_definer_function_executable": ("HS409", "WARN", "executable by authenticated"),
}


def _findings(conn: psycopg.Connection[Any], check_id: str | None, about: str = "") -> dict[str, Outcome]:
    """Each finding (object and message) of the check, those whose message names ``about`` where given."""
    if check_id is None:
        return {}
    facts = gather(conn)
    return {f"{r.object}: {r.message}": r.outcome for r in run_lint(BY_ID[check_id], facts, {})
            if r.outcome in (Outcome.FAILED, Outcome.WARNED) and about in r.message}


def _judge(case: dict[str, Any], found: dict[str, Outcome]) -> str:
    check_id, level = PEERS[case["lint"]][:2]
    if case["expected"] == 0:
        return "false alarm" if found else "quiet"
    if check_id is None:
        return "missed (no such lint)"
    if len(found) < case["expected"]:
        return f"missed ({len(found)} of {case['expected']})"
    if level == "ERROR" and any(o is not Outcome.FAILED for o in found.values()):
        return "caught, too low"
    return "caught"


def measure(dsn: str) -> list[tuple[dict[str, Any], str]]:
    by_file: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for case in CASES:
        by_file[case["file"]].append(case)
    verdicts = []
    with connect(dsn, autocommit=True) as conn:
        ensure_supabase_compat(conn)
        ensure_platform(conn)
    for cases in by_file.values():
        with connect(dsn, autocommit=True) as conn:
            conn.execute("begin")  # the file's one transaction; each statement below runs in a savepoint of it
            conn.execute(FIXTURE)
            baseline = {peer[0]: _findings(conn, peer[0]) for peer in {PEERS[c["lint"]] for c in cases}}
            ran = 0
            for case in cases:
                for statement in case["setup"][ran:]:
                    if SAVEPOINT.match(statement):  # the file's own savepoints, never inside one of ours
                        conn.execute(statement.encode())
                        continue
                    try:
                        with conn.transaction():
                            conn.execute(statement.encode())
                    except psycopg.Error as e:
                        verdicts.append((case, f"setup failed: {e.diag.message_primary}"))
                ran = len(case["setup"])
                check, *about = PEERS[case["lint"]][0::2]
                found = {k: v for k, v in _findings(conn, check, *about).items() if k not in baseline[check]}
                verdicts.append((case, _judge(case, found)))
            conn.execute("rollback")
    return verdicts


# Where healstack and splinter disagree, each proven below against a real server.
DISAGREE = {
    "0001_unindexed_foreign_keys.sql#3": "an index on (bar, foo) serves the key (foo, bar): both are equalities",
    "0002_auth_users_exposed.sql#3": "an invoker view reads auth.users with the caller's rights, which the API "
                                     "roles do not have on the Supabase platform",
    "0010_security_definer_view.sql#1": "a view over `select 1` reads no table, so running as its owner "
                                        "exposes nothing",
    "0024_rls_policy_always_true.sql#18": "an INSERT policy without WITH CHECK admits no row; HS406 names it",
    "0005_unused_index.sql#1": "an index unused on a fresh database says nothing; the health phase judges "
                               "unused indexes with a week of statistics (HS801)",
}


def test_splinter_findings_are_caught_and_its_quiet_examples_stay_quiet(empty_db: str) -> None:
    with connect(empty_db) as conn:
        if conn.info.server_version < 180000:  # the lints' own tests run on every version (test_verify_lints)
            pytest.skip("measured once, on Postgres 18, where every case of splinter's suite can run")
    verdicts = measure(empty_db)
    judged = [(c, v) for c, v in verdicts if not v.startswith("setup")]
    findings = sum(1 for c, _ in judged if c["expected"] > 0)
    quiet = sum(1 for c, _ in judged if c["expected"] == 0)
    caught = sum(1 for _, v in judged if v == "caught")
    alarms = [f"{c['file']}#{c['checkpoint']}" for c, v in judged if v == "false alarm"]
    missed = {f"{c['file']}#{c['checkpoint']}" for c, v in judged if v not in ("caught", "quiet", "false alarm")}
    print(f"\nsplinter: {caught} of {findings} findings caught at the right severity, {len(alarms)} false alarms "
          f"on {quiet} quiet examples; {len(DISAGREE)} disagreements: {', '.join(sorted(DISAGREE))}")
    assert missed == set(DISAGREE), missed
    assert alarms == []


def test_the_disagreements_hold_on_a_real_server(migrated_db: str) -> None:
    with connect(migrated_db) as conn:
        conn.execute("create table public.aaa (foo int, bar int, primary key (foo, bar))")
        conn.execute("create table public.bbb (id int primary key, foo int, bar int,"
                     " foreign key (foo, bar) references public.aaa (foo, bar))")
        conn.execute("create index on public.bbb (bar, foo)")
        conn.execute("set local enable_seqscan = off")
        plan = "\n".join(r[0] for r in conn.execute("explain select from public.bbb where foo = 1 and bar = 2"))
        assert "Index" in plan and "bbb_bar_foo_idx" in plan
        conn.execute("create view public.baz with (security_invoker = on) as select * from auth.users")
        conn.execute("set local role anon")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="users"), conn.transaction():
            conn.execute("select * from public.baz")
        conn.execute("reset role")
        conn.execute("create table public.posts (id int primary key)")
        conn.execute("alter table public.posts enable row level security")
        conn.execute("create policy insert_no_with_check on public.posts for insert to authenticated")
        conn.execute("grant insert on public.posts to authenticated")
        flagged = {r.object for r in run_lint(BY_ID["HS406"], gather(conn), {}) if r.outcome is Outcome.FAILED}
        assert "public.posts.insert_no_with_check" in flagged
        conn.execute("set local role authenticated")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"), conn.transaction():
            conn.execute("insert into public.posts values (1)")
        conn.rollback()
