"""Rollback rehearsal: exact round trips pass, a rollback that forgets an object is caught."""

from __future__ import annotations

import dataclasses

from healstack.context import Context
from healstack.db import connect
from healstack.migrate.files import discover
from healstack.migrate.rehearsal import rehearse_rollback
from healstack.results import Outcome


def test_every_shipped_migration_round_trips(pg_server, test_settings):
    results = rehearse_rollback(Context(pg_server, test_settings))
    shipped = [m.label for m in discover(test_settings.migrations_dir)]
    assert len(shipped) >= 8
    assert [(r.object, r.outcome) for r in results] == [(label, Outcome.PASSED) for label in shipped]


def test_rollback_that_forgets_an_object_is_caught(pg_server, test_settings, migrations_copy):
    rollback = migrations_copy / "0004_ops_tables.rollback.sql"
    rollback.write_text(rollback.read_text().replace("drop table if exists public.observability_logs;\n", ""))
    settings = dataclasses.replace(test_settings, migrations_dir=migrations_copy)
    results = {r.object: r for r in rehearse_rollback(Context(pg_server, settings))}
    failed = results["0004_ops_tables.sql"]
    assert failed.outcome is Outcome.FAILED and failed.check_id == "HS202"
    assert "relations public.observability_logs is unexpected" in failed.evidence["differences"]
    assert all(r.outcome is Outcome.PASSED for name, r in results.items() if name != "0004_ops_tables.sql")


def test_rollback_that_forgets_a_grant_change_is_caught(pg_server, test_settings, migrations_copy):
    forward = migrations_copy / "0006_functions.sql"
    forward.write_text(forward.read_text() + "\ngrant select on public.events to anon;\n")
    settings = dataclasses.replace(test_settings, migrations_dir=migrations_copy)
    results = {r.object: r for r in rehearse_rollback(Context(pg_server, settings))}
    assert results["0006_functions.sql"].outcome is Outcome.FAILED
    assert "grants SELECT  on table public.events to anon is unexpected" in (
        results["0006_functions.sql"].evidence["differences"])


def test_missing_rollback_file_fails(pg_server, test_settings, migrations_copy):
    (migrations_copy / "0003_etl_state.rollback.sql").unlink()
    settings = dataclasses.replace(test_settings, migrations_dir=migrations_copy)
    results = {r.object: r for r in rehearse_rollback(Context(pg_server, settings))}
    assert results["0003_etl_state.sql"].check_id == "HS201"
    assert results["0003_etl_state.sql"].outcome is Outcome.FAILED
    assert "running it again changes nothing" in results["0003_etl_state.sql"].message  # (idempotent)
    # the migrations after it still rehearse: it was applied for them
    assert all(results[m].outcome is Outcome.PASSED for m in results if m > "0003_etl_state.sql")


def test_a_forward_only_project_is_not_evaluated_and_told_what_running_twice_does(pg_server, test_settings,
                                                                                   tmp_path):
    folder = tmp_path / "supabase" / "migrations"
    folder.mkdir(parents=True)
    (folder / "20240101000000_init.sql").write_text("create table public.notes (id bigint primary key);\n")
    (folder / "20240102000000_grant.sql").write_text("grant select on public.notes to authenticated;\n")
    settings = dataclasses.replace(test_settings, migrations_dir=folder)
    results = {r.object: r for r in rehearse_rollback(Context(pg_server, settings))}
    assert {r.outcome for r in results.values()} == {Outcome.NOT_EVALUATED}
    assert "forward-only" in results["20240101000000_init.sql"].message
    assert "running it again fails" in results["20240101000000_init.sql"].message  # no IF NOT EXISTS
    assert "running it again changes nothing" in results["20240102000000_grant.sql"].message


def test_rehearsal_leaves_no_database_behind(pg_server, test_settings):
    rehearse_rollback(Context(pg_server, test_settings))
    with connect(pg_server) as conn:
        left = conn.execute("select count(*) from pg_database where datname like 'healstack_rehearsal_%'").fetchone()
    assert left == (0,)


def test_scratch_databases_left_by_a_killed_run_are_dropped_by_the_next(pg_server, test_settings):
    """A verify or rehearsal killed mid-way leaves its throwaway database; the next run drops it once it is
    older than an hour and nobody is connected to it. A recent or busy one is left alone."""
    with connect(pg_server, autocommit=True) as conn:
        now = conn.execute("select extract(epoch from now())::bigint").fetchone()[0]
        old, recent = f"healstack_rehearsal_{now - 7200}_1", f"healstack_rehearsal_{now - 60}_2"
        for name in (old, recent):
            conn.execute(f'create database "{name}"')
    try:
        rehearse_rollback(Context(pg_server, test_settings))
        with connect(pg_server) as conn:
            left = {r[0] for r in conn.execute("select datname from pg_database where datname like 'healstack_%'")}
        assert old not in left and recent in left
    finally:
        with connect(pg_server, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{recent}"')
            conn.execute(f'drop database if exists "{old}"')
