"""The health phase: each audit fails on its seeded condition and passes on the healthy stack; the stack's access
paths stay off sequential scans on a dataset of realistic size, on both Postgres versions the suite runs on.
Nothing here depends on timing: time thresholds are set to zero, waits poll for a state, and the slow statements
sleep longer than the level they must cross."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import psycopg
import pytest
from repo import REPO

from healstack.context import Context
from healstack.db import connect
from healstack.health.audits import run_audits
from healstack.health.declaration import Thresholds, load_health
from healstack.health.paths import access_paths
from healstack.health.phase import health
from healstack.health.statements import slow_statements
from healstack.results import CheckResult, Outcome
from healstack.retention.policy import load_policy
from healstack.retention.snapshot import backup

FINDING = (Outcome.FAILED, Outcome.WARNED)


def _audit(dsn: str, check_id: str, **limits: Any) -> list[CheckResult]:
    with connect(dsn, autocommit=True) as conn:
        return [r for r in run_audits(conn, Thresholds(**limits)) if r.check_id == check_id]


def _found(results: list[CheckResult]) -> set[str]:
    return {r.object for r in results if r.outcome in FINDING}


def _sql(dsn: str, *statements: str) -> None:
    with connect(dsn, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement.encode())
        conn.execute("select pg_stat_force_next_flush()")  # counters flushed before the answer returns


def _wait(dsn: str, query: str, params: list[Any]) -> None:
    """Poll until ``query`` returns true (a state, not a duration: the deadline only ends a hung test)."""
    deadline = time.monotonic() + 120
    with connect(dsn, autocommit=True) as conn:
        while not conn.execute(query, params).fetchone()[0]:  # type: ignore[index]
            assert time.monotonic() < deadline, "the seeded session never reached its state"
            time.sleep(0.05)


@contextmanager
def _running(dsn: str, statement: str) -> Iterator[int]:
    """``statement`` running in a second session; yields its pid."""
    conn = connect(dsn, autocommit=True)
    pid = conn.info.backend_pid
    worker = threading.Thread(target=lambda: _quietly(lambda: conn.execute(statement.encode())))
    worker.start()
    try:
        yield pid
    finally:
        conn.cancel_safe()
        worker.join()
        conn.close()


def _quietly(action: Callable[[], Any]) -> None:
    with suppress(psycopg.errors.QueryCanceled):
        action()


WIDE = ("create table public.wide (id int primary key, v int, pad text) with (autovacuum_enabled = false)",
        "insert into public.wide select g, g % 1000, repeat('x', 100) from generate_series(1, 20000) as g")

# (check, seed statements, thresholds, the object it must report, statements that make it safe again)
CASES = [
    ("HS801", [*WIDE, "create index wide_v on public.wide (v)"],
     {"unused_index_min_days": 0, "unused_index_min_bytes": 0}, "public.wide_v",
     ["set enable_seqscan = off", "select count(*) from public.wide where v = 5"]),
    ("HS802", [*WIDE, "do $$ begin for i in 1..100 loop perform count(*) from public.wide where v = i; end loop;"
               " end $$"], {}, "public.wide",
     ["create index wide_v on public.wide (v)", "analyze public.wide",
      "do $$ begin for i in 1..200 loop perform count(*) from public.wide where v = i; end loop; end $$"]),
    ("HS803", [*WIDE, "delete from public.wide where id % 10 <> 0", "vacuum analyze public.wide"],
     {"bloat_min_bytes": 0}, "public.wide", ["vacuum full analyze public.wide"]),
    ("HS805", [*WIDE], {}, "public.wide", ["vacuum analyze public.wide"]),
    ("HS806", [*WIDE, "delete from public.wide where id % 2 = 0"], {}, "public.wide", ["vacuum public.wide"]),
    ("HS807", [], {"xid_age_max_percent": 0}, "database ", []),
    ("HS808", ["select setval(pg_get_serial_sequence('public.events', 'id'), 9000000000000000000)"], {},
     "public.events_id_seq", ["select setval(pg_get_serial_sequence('public.events', 'id'), 1)"]),
    ("HS812", [], {"connections_max_percent": 0}, "connections", []),
    ("HS813", ["alter table public.spend add constraint spend_bounded check (spend < 1e9) not valid"], {},
     "public.spend.spend_bounded", ["alter table public.spend validate constraint spend_bounded"]),
]


@pytest.mark.parametrize(("check_id", "seed", "limits", "obj", "mend"), CASES, ids=[c[0] for c in CASES])
def test_each_audit_fails_on_its_seeded_condition_and_not_once_mended(migrated_db, check_id, seed, limits, obj,
                                                                      mend):
    def reported() -> bool:
        return any(o.startswith(obj) for o in _found(_audit(migrated_db, check_id, **limits)))

    assert not reported() or check_id in ("HS807", "HS812"), "the healthy stack"  # those two: thresholds at 0
    _sql(migrated_db, *seed)
    found = _audit(migrated_db, check_id, **limits)
    assert any(o.startswith(obj) for o in _found(found)), [r.message for r in found]
    assert all("fix: " in r.message for r in found if r.outcome in FINDING)
    if mend:
        _sql(migrated_db, *mend)
        assert not reported()


def test_too_few_reads_leave_the_cache_unjudged_and_a_low_ratio_fails(migrated_db):
    _sql(migrated_db, *WIDE, "create index wide_v on public.wide (v)", "select count(*) from public.wide where v < 5")
    assert {r.outcome for r in _audit(migrated_db, "HS804", cache_min_blocks=10**12)} == {Outcome.NOT_EVALUATED}
    found = _audit(migrated_db, "HS804", cache_min_blocks=0, cache_hit_min_percent=100.01)
    assert _found(found) == {"tables", "indexes"}


def test_unused_indexes_are_not_judged_on_young_statistics(migrated_db):
    [result] = _audit(migrated_db, "HS801", unused_index_min_days=10**6)
    assert result.outcome is Outcome.NOT_EVALUATED and "usage statistics cover" in result.message


def test_a_long_query_and_an_idle_transaction_are_reported(migrated_db):
    active = "select state = 'active' from pg_stat_activity where pid = %s"
    with _running(migrated_db, "select pg_sleep(600) /* secret 'hunter2' */") as pid:
        _wait(migrated_db, active, [pid])
        [found] = [r for r in _audit(migrated_db, "HS809", long_query_seconds=0) if r.object == f"pid {pid}"]
        assert found.outcome is Outcome.WARNED and "hunter2" not in found.message  # literals masked
        assert not _audit(migrated_db, "HS809")[0].outcome.failing  # 60 s: not yet
    idle = "select state = 'idle in transaction' from pg_stat_activity where pid = %s"
    conn = connect(migrated_db)
    try:
        conn.execute("select 1")  # a transaction opened, then nothing
        _wait(migrated_db, idle, [conn.info.backend_pid])
        found = _audit(migrated_db, "HS810", idle_in_transaction_seconds=0)
        assert f"pid {conn.info.backend_pid}" in _found(found)
    finally:
        conn.close()


def test_a_session_blocked_by_a_lock_held_elsewhere_is_reported_with_its_blocker(migrated_db):
    holder = connect(migrated_db)
    try:
        holder.execute("lock table public.facts in access exclusive mode")
        waiting = "select wait_event_type = 'Lock' from pg_stat_activity where pid = %s"
        with _running(migrated_db, "select count(*) from public.facts") as pid:
            _wait(migrated_db, waiting, [pid])
            [found] = [r for r in _audit(migrated_db, "HS811", blocked_seconds=0) if r.object == f"pid {pid}"]
            assert found.outcome is Outcome.FAILED
            assert [b["pid"] for b in found.evidence["blocked_by"]] == [holder.info.backend_pid]
            holder.rollback()
    finally:
        holder.close()


def test_slow_statements_warn_then_turn_critical_and_say_when_they_cannot_be_read(migrated_db):
    def slow(**limits: Any) -> list[CheckResult]:
        with connect(migrated_db, autocommit=True) as conn:
            return [r for r in slow_statements(conn, Thresholds(**limits)) if r.outcome in FINDING]

    def as_the_stack(statement: str) -> None:  # a client of the stack's, not healstack (whose statements are marked)
        with psycopg.connect(migrated_db, autocommit=True) as conn:
            conn.execute(statement.encode())

    _sql(migrated_db, "select 'own', pg_sleep(0.3)")  # healstack's own: never judged
    assert not slow()
    as_the_stack("select pg_sleep(0.06)")
    [warned] = slow(statement_critical_ms=10**9)
    assert warned.outcome is Outcome.WARNED and "pg_sleep" in warned.message
    as_the_stack("select 1, pg_sleep(0.25)")  # another statement than the first (aliases count as none)
    assert Outcome.FAILED in {r.outcome for r in slow()}  # a mean over 200 ms is critical
    _sql(migrated_db, "drop extension pg_stat_statements")
    with connect(migrated_db, autocommit=True) as conn:
        [result] = slow_statements(conn, Thresholds())
    assert result.outcome is Outcome.NOT_EVALUATED and "not installed" in result.message


def _generous(tmp_path: Path, **limits: Any) -> Path:
    """checks/health.toml with budgets no busy machine reaches, so only the plans' shapes are judged."""
    text = (REPO / "checks" / "health.toml").read_text()
    path = tmp_path / "health.toml"
    path.write_text(text.replace("plan_budget_ms = 200", f"plan_budget_ms = {limits.get('budget', 600000)}"))
    return path


def test_the_stacks_access_paths_use_indexes_on_a_realistic_dataset(dataset_db, test_settings, tmp_path):
    with connect(dataset_db, autocommit=True) as conn:  # a healthy stack has a recent backup (HS817)
        backup(conn, load_policy(REPO / "checks" / "retention.toml").backup_tables, tmp_path / "backups", keep=1)
    results = health(Context(dataset_db, test_settings.with_(health=_generous(tmp_path))))
    paths = [r for r in results if r.check_id == "HS815"]
    assert len(paths) == len(load_health(REPO / "checks" / "health.toml").paths) == 7
    assert [r.object for r in paths if r.outcome is not Outcome.PASSED] == [], [r.message for r in paths]
    assert all(r.evidence["plan"] and r.evidence["claims"]["app_metadata"]["project"] == "p1" for r in paths)
    assert not [r.message for r in results if r.outcome.failing]


@pytest.mark.parametrize("budget", [0])
def test_a_dropped_index_or_a_blown_budget_fails_the_access_path(dataset_db, tmp_path, budget):
    _sql(dataset_db, "drop index public.spend_project_dt_idx")
    declaration = load_health(_generous(tmp_path))
    with connect(dataset_db, autocommit=True) as conn:
        found = {r.object: r for r in access_paths(dataset_db, conn, declaration)}
    assert found["spend_over_all_days"].outcome is Outcome.FAILED
    assert "reads public.spend (" in found["spend_over_all_days"].message
    tight = dataclasses.replace(declaration, thresholds=Thresholds(plan_budget_ms=budget))
    with connect(dataset_db, autocommit=True) as conn:
        assert all("budget" in r.message for r in access_paths(dataset_db, conn, tight) if r.outcome.failing)
        assert {r.outcome for r in access_paths(dataset_db, conn, tight)} == {Outcome.FAILED}


def _health_command(dsn: str, project: Path) -> subprocess.CompletedProcess[str]:
    """`healstack health` (what `nox -s health` and the weekly workflow run), outputs in ``project``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEALSTACK_", "SLACK_", "GITHUB_"))}
    env.update(DATABASE_URL=dsn, HEALSTACK_BACKLOG_DIR=str(project / "backlog"))
    return subprocess.run([sys.executable, "-m", "healstack", "--reports", str(project / "reports"), "health"],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=300)


def test_the_health_command_reports_index_findings_plans_and_the_change_since_its_last_run(migrated_db, tmp_path):
    first = _health_command(migrated_db, tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.strip().splitlines()[-1].startswith("healstack: report ")
    with connect(migrated_db, autocommit=True) as conn:
        conn.execute("insert into public.facts (project, topic, key, value) values ('p', 't', 'a', '{}'),"
                     " ('p', 't', 'b', '{}')")
        with pytest.raises(psycopg.errors.UniqueViolation):  # a failed concurrent build leaves an invalid index
            conn.execute("create unique index concurrently facts_one_per_topic on public.facts (topic)")
        conn.execute("create index facts_topic_again on public.facts (topic)")  # the same as facts_topic_idx
        conn.execute("select pg_stat_force_next_flush()")  # the rows counted before the answer returns
    second = _health_command(migrated_db, tmp_path)
    assert second.returncode == 1, second.stdout + second.stderr
    [run] = sorted((tmp_path / "reports").glob("*/health.md"))[1:]
    report = run.read_text()
    assert "HS416` public.facts_one_per_topic" in report and "HS413` public.facts_topic_again" in report
    assert f"change since run {sorted((tmp_path / 'reports').glob('*/health.md'))[0].parent.name}" in report
    assert "| public.facts | 2 | +2 |" in report and "### spend_over_all_days (passed" in report
    assert "Database health" in (run.parent / "index.html").read_text()
