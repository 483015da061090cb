"""The doctor heals what is safe and proves it by checking again, tickets the rest, never overlaps another doctor,
and against DATABASE_URL heals only when asked. (The suite runs on Postgres 18 and 15, so does this.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from repo import REPO

from healstack import doctor
from healstack.context import Context
from healstack.db import connect
from healstack.etl.phase import source_checks
from healstack.etl.stack import declared
from healstack.lease import lease
from healstack.results import Outcome


def _doctor(dsn: str, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`healstack doctor` (what `nox -s doctor` runs), outputs in ``project``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEALSTACK_", "SLACK_", "GITHUB_"))}
    env.update(DATABASE_URL=dsn, HEALSTACK_BACKLOG_DIR=str(project / "backlog"))
    return subprocess.run([sys.executable, "-m", "healstack", "--reports", str(project / "reports"), "doctor", *args,
                           "-m", "not rollback and not rls"], capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=300)


def _last_records(project: Path) -> list[dict]:
    [latest] = sorted((project / "reports").glob("*/results.jsonl"), key=lambda p: json.loads(
        (p.parent / "run.json").read_text())["started"])[-1:]
    return [json.loads(line) for line in latest.read_text().splitlines()]


HEALABLE = ["HS301:indexes public.idx_metrics_day", "HS303:relations public.orders",
            "metrics_daily.spend_matches_source:public.metrics_daily.spend"]
UNHEALABLE = {"HS302:relations public.leaky", "HS401:public.leaky", "spend.amount_plausible:public.spend.spend"}


def _seed(dsn: str) -> None:
    with connect(dsn, autocommit=True) as conn:
        conn.execute("insert into public.spend (project, platform, account_id, campaign_id, dt, spend) values"
                     " ('p', 'meta', 'a1', 'c1', current_date - 1, 10), ('p', 'meta', 'a1', 'c2', current_date,"
                     " 2000000)")
        conn.execute("select public.recompute_metrics_daily(current_date - 1, current_date)")
        # healable: a dropped index, RLS no longer forced, a metrics day that disagrees with spend
        conn.execute("drop index public.idx_metrics_day")
        conn.execute("alter table public.orders no force row level security")
        conn.execute("update public.metrics_daily set spend = spend + 1 where day = current_date - 1"
                     " and platform = 'all'")
        # not healable: a table no migration creates (only a DROP would mend it), a spend row out of range
        conn.execute("create table public.leaky (id int primary key)")


def test_the_doctor_heals_what_is_safe_tickets_the_rest_and_writes_each_ticket_once(migrated_db, tmp_path):
    _seed(migrated_db)
    first = _doctor(migrated_db, tmp_path, "--heal")
    assert first.returncode == 1, first.stdout + first.stderr  # the unhealable remain
    records = _last_records(tmp_path)
    healed = [r for r in records if r["check_id"] == "HS901"]
    assert all(r["outcome"] == "passed" for r in healed), [r["message"] for r in healed]
    assert {t for r in healed for t in r["evidence"]["targets"]} >= set(HEALABLE)
    failing = {f"{r['check_id']}:{r['object']}" for r in records if r["outcome"] in ("failed", "error")}
    assert failing >= UNHEALABLE and not failing & set(HEALABLE)  # healed checks pass when checked again
    with connect(migrated_db) as conn:
        assert conn.execute("select to_regclass('public.idx_metrics_day') is not null, relforcerowsecurity"
                            " from pg_class where oid = 'public.orders'::regclass").fetchone() == (True, True)
        assert conn.execute("select count(*) from public.leaky").fetchone() == (0,)  # nothing dropped
    for _ in range(2):
        again = _doctor(migrated_db, tmp_path, "--heal")
        assert again.returncode == 1 and not [r for r in _last_records(tmp_path) if r["check_id"] == "HS901"]
    tickets = [json.loads(line.split(": ", 1)[1]) for p in (tmp_path / "backlog").glob("READY_system_fix_*.md")
               for line in p.read_text().splitlines() if line.startswith(("fingerprint:", "occurrences:"))]
    by_fingerprint = dict(zip(tickets[::2], tickets[1::2], strict=True))
    assert set(by_fingerprint) == failing  # each written once in 3 runs, seen each time, but for the data-quality
    # rule, whose incremental runs after the first judge only the rows written since (its ticket stays open)
    assert by_fingerprint == {**dict.fromkeys(failing, 3), "spend.amount_plausible:public.spend.spend": 1}
    first_run = next(p.parent for p in (tmp_path / "reports").glob("*/run.json")
                     if json.loads(p.read_text())["run_id"] == records[0]["run_id"])
    assert f"Healed ({len(healed)}):" in (first_run / "run_summary.md").read_text()


def test_against_database_url_the_doctor_only_diagnoses_unless_asked(migrated_db, tmp_path):
    with connect(migrated_db, autocommit=True) as conn:
        conn.execute("drop index public.idx_metrics_day")
    assert _doctor(migrated_db, tmp_path).returncode == 1
    with connect(migrated_db) as conn:
        assert conn.execute("select to_regclass('public.idx_metrics_day')").fetchone() == (None,)


def test_two_doctors_never_overlap(migrated_db, tmp_path):
    with lease(migrated_db, "doctor"):
        done = _doctor(migrated_db, tmp_path, "--heal")
    assert done.returncode == 2 and "another healstack doctor is running" in done.stderr.strip().splitlines()[-1]
    with connect(migrated_db) as conn:  # the lease was given back: the table is empty again
        assert conn.execute("select count(*) from healstack.locks").fetchone() == (0,)


def test_a_lease_left_by_a_killed_doctor_expires(migrated_db):
    with lease(migrated_db, "doctor", ttl=timedelta(seconds=-1)), lease(migrated_db, "doctor"):
        pass  # the first lease is already past its expiry: the second takes it over


def test_stale_statistics_are_analyzed(migrated_db, test_settings):
    with connect(migrated_db, autocommit=True) as conn:
        conn.execute("create table public.grown (id int primary key) with (autovacuum_enabled = false)")
        conn.execute("insert into public.grown select generate_series(1, 5000)")
        conn.execute("select pg_stat_force_next_flush()")  # the counters, flushed before the answer returns
    ctx = Context(migrated_db, test_settings)
    found = [r for r in doctor.stale_statistics(ctx) if r.object == "public.grown"]
    assert [r.outcome for r in found] == [Outcome.WARNED]
    [heal] = doctor.HEALS[doctor.Phase.DOCTOR](ctx, found, False)
    assert heal.statements == ["analyze public.grown"] and heal.error is None
    assert doctor.verdict(heal, doctor.stale_statistics(ctx)).outcome is Outcome.PASSED


def test_a_source_whose_last_run_failed_is_pulled_again(migrated_db, test_settings):
    """On the embedded default the recorded pages stand in for the source."""
    with connect(migrated_db, autocommit=True) as conn:
        conn.execute("insert into public.etl_runs (source, status, error) values ('events', 'interrupted', 'killed')")
    ctx = Context(migrated_db, test_settings)
    sources = [s for s in declared(test_settings) if s.name == "events"]
    before = [r for r in source_checks(ctx, sources) if r.outcome.failing]
    assert [r.check_id for r in before] == ["HS701", "HS702"]
    [heal] = doctor.HEALS[doctor.Phase.ETL](ctx, before, True)
    assert heal.error is None and "pull events (fixture-served" in heal.statements[0]
    assert doctor.verdict(heal, source_checks(ctx, sources)).outcome is Outcome.PASSED


@pytest.mark.parametrize("only", ["pg_stat_force_next_flush"])
def test_the_server_flushes_statistics_on_demand(migrated_db, only):
    """The stale-statistics test relies on Postgres 15's pg_stat_force_next_flush()."""
    with connect(migrated_db) as conn:
        assert conn.execute("select to_regproc(%s) is not null", [only]).fetchone() == (True,)
