"""The apply phase: all-or-nothing files, the ledger, drift, dry runs, locking, evidence."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from healstack import catalog
from healstack.config import Settings
from healstack.context import Context
from healstack.db import connect
from healstack.errors import ConfigError, MigrationFailed, Refused
from healstack.migrate.files import discover
from healstack.migrate.ledger import APPLY_LOCK_KEY, read_ledger
from healstack.migrate.runner import apply, apply_migrations
from healstack.results import Outcome


def _settings(base: Settings, migrations: Path) -> Settings:
    return dataclasses.replace(base, migrations_dir=migrations)


def test_fresh_database_gets_every_migration_and_a_ledger(empty_db, test_settings):
    outcome = apply(empty_db, test_settings)
    assert outcome.applied == [p.name for p in sorted(test_settings.migrations_dir.glob("*.sql"))
                               if not p.name.endswith(".rollback.sql")]
    with connect(empty_db) as conn:
        ledger = read_ledger(conn)
    assert list(ledger) == [m.version for m in discover(test_settings.migrations_dir)]
    row = ledger["0002"]
    assert len(row.checksum) == 64 and row.applied_by == "postgres" and row.statements > 10


def test_reapply_is_a_no_op(migrated_db, test_settings):
    with connect(migrated_db) as conn:
        before = catalog.take(conn, ignore_schemas=())
    outcome = apply(migrated_db, test_settings)
    assert outcome.applied == [] and outcome.pending == []
    with connect(migrated_db) as conn:
        assert catalog.diff(before, catalog.take(conn, ignore_schemas=())) == []


def test_every_forward_file_run_again_changes_nothing(conn, test_settings):
    before = catalog.take(conn)
    for path in sorted(test_settings.migrations_dir.glob("*.sql")):
        if not path.name.endswith(".rollback.sql"):
            conn.execute(path.read_text().encode())
    assert catalog.diff(before, catalog.take(conn)) == []


def test_failure_half_way_leaves_nothing_of_that_file(empty_db, test_settings, migrations_copy):
    (migrations_copy / "0099_broken.sql").write_text(
        "create table if not exists public.half_done (id int primary key);\n"
        "insert into public.half_done values (1);\n"
        "\n"
        "select *\nfrom public.no_such_table;\n"
    )
    (migrations_copy / "0099_broken.rollback.sql").write_text("drop table if exists public.half_done;\n")
    with pytest.raises(MigrationFailed) as failure:
        apply(empty_db, _settings(test_settings, migrations_copy))
    message = str(failure.value)
    assert message.startswith("0099_broken.sql:5: relation \"public.no_such_table\" does not exist")
    assert "nothing of this file was applied" in message
    with connect(empty_db) as conn:
        assert conn.execute("select to_regclass('public.half_done')").fetchone() == (None,)
        assert "0099" not in read_ledger(conn)
        assert discover(test_settings.migrations_dir)[-1].version in read_ledger(conn)


def test_edited_applied_migration_is_refused_and_reported(migrated_db, test_settings, migrations_copy):
    path = migrations_copy / "0003_etl_state.sql"
    path.write_text(path.read_text() + "\ncomment on table public.etl_runs is 'edited later';\n")
    with pytest.raises(Refused):
        apply(migrated_db, _settings(test_settings, migrations_copy))
    with connect(migrated_db) as conn:
        comment = conn.execute("select obj_description('public.etl_runs'::regclass)").fetchone()
    assert comment == (None,)


def test_drift_result_names_the_file(migrated_db, test_settings, migrations_copy):
    path = migrations_copy / "0003_etl_state.sql"
    path.write_text(path.read_text() + "\n-- a harmless edit is still an edit\n")
    (migrations_copy / "0002_ingest_tables.sql").unlink()
    (migrations_copy / "0002_ingest_tables.rollback.sql").unlink()
    outcome = apply_migrations(Context(migrated_db, _settings(test_settings, migrations_copy)))
    assert isinstance(outcome.failure, Refused) and outcome.applied == []
    lines = [r.line() for r in outcome.results]
    assert any("HS102" in ln and "0003_etl_state.sql" in ln and "edited after it was applied" in ln for ln in lines)
    assert any("HS101" in ln and "0002_ingest_tables" in ln and "file is gone" in ln for ln in lines)


def test_dry_run_changes_nothing(empty_db, test_settings):
    with connect(empty_db) as conn:
        before = catalog.take(conn, ignore_schemas=())
    outcome = apply(empty_db, test_settings, dry_run=True)
    assert len(outcome.pending) == len(discover(test_settings.migrations_dir)) and outcome.applied == []
    with connect(empty_db) as conn:
        assert catalog.diff(before, catalog.take(conn, ignore_schemas=())) == []


def test_objects_applied_by_hand_are_reported_then_adopted(empty_db, test_settings):
    with connect(empty_db, autocommit=True) as conn:
        # seed 004's case: the table was created by hand, the migration never recorded
        conn.execute("create table public.facts (id bigint generated always as identity primary key,"
                     " project text not null, topic text not null, key text not null, value jsonb not null,"
                     " created_at timestamptz not null default now())")
    outcome = apply(empty_db, test_settings)
    warned = [r for r in outcome.results if r.check_id == "HS103"]
    assert [r.object for r in warned] == ["0004_ops_tables.sql"]
    assert warned[0].outcome is Outcome.WARNED and "table public.facts" in warned[0].message
    assert "0004_ops_tables.sql" in outcome.applied


def test_second_concurrent_apply_is_turned_away(empty_db, test_settings):
    with connect(empty_db, autocommit=True) as holder:
        holder.execute("select pg_advisory_lock(%s)", [APPLY_LOCK_KEY])
        with pytest.raises(ConfigError, match="another healstack apply is running"):
            apply(empty_db, test_settings)


def test_evidence_log_has_connectivity_status_and_statements_but_no_password(empty_db, test_settings, tmp_path):
    dsn = empty_db.replace("postgres@", "postgres:hunter2secret@", 1) if "@" in empty_db else empty_db
    dsn = dsn if "hunter2secret" in dsn else f"{empty_db} password=hunter2secret"
    outcome = apply(dsn, test_settings, run_dir=tmp_path)
    assert outcome.evidence_dir == tmp_path / "apply"
    text = (outcome.evidence_dir / "evidence.jsonl").read_text() + (outcome.evidence_dir / "apply.log").read_text()
    assert "hunter2secret" not in text
    for expected in ('"kind": "connect"', '"server_version"', '"server_addr"', '"message": "before"',
                     '"message": "after"', '"kind": "statement"', '"status": "ok"'):
        assert expected in text


@pytest.mark.parametrize("allow", ["", "-- healstack: allow HS008 we know what we are doing\n"])
def test_transaction_control_in_a_transactional_file_is_refused_and_nothing_is_applied(empty_db, test_settings,
                                                                                       tmp_path, allow):
    """A COMMIT would keep what came before it when a later statement fails: all-or-nothing is not negotiable."""
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "0001_halves.sql").write_text(
        "create table if not exists public.first_half (id int primary key);\n"
        f"{allow}commit;\n"
        "create table if not exists public.second_half (id int primary key);\n"
        "select 1 / 0;\n")
    outcome = apply_migrations(Context(empty_db, _settings(test_settings, migrations)))
    assert isinstance(outcome.failure, Refused) and outcome.applied == []
    assert [(r.check_id, r.outcome) for r in outcome.results if r.check_id == "HS008"] == [("HS008", Outcome.FAILED)]
    with connect(empty_db) as conn:
        assert conn.execute("select to_regclass('public.first_half')").fetchone() == (None,)


def test_a_failed_concurrent_index_build_is_not_recorded_and_its_invalid_index_is_rebuilt(empty_db, test_settings,
                                                                                         tmp_path):
    """CREATE INDEX CONCURRENTLY runs outside a transaction: a failure leaves an INVALID index that a re-run's
    IF NOT EXISTS would skip. It must be rebuilt (not skipped), and the migration recorded only when valid."""
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "0001_codes.sql").write_text(
        "create table if not exists public.codes (id int primary key, code text);\n"
        "insert into public.codes values (1, 'a'), (2, 'a') on conflict do nothing;\n")
    (migrations / "0002_unique_code.sql").write_text(
        "-- healstack: no-transaction\n"
        "create unique index concurrently if not exists codes_code on public.codes (code);\n")
    ctx = Context(empty_db, _settings(test_settings, migrations))
    first = apply_migrations(ctx)
    assert isinstance(first.failure, MigrationFailed) and first.applied == ["0001_codes.sql"]
    again = apply_migrations(ctx)
    assert isinstance(again.failure, MigrationFailed) and again.applied == []
    assert "index public.codes_code is invalid (a failed concurrent build) and could not be rebuilt" in str(
        again.failure)
    with connect(empty_db, autocommit=True) as conn:
        assert list(read_ledger(conn)) == ["0001"]
        conn.execute("update public.codes set code = 'b' where id = 2")
    fixed = apply_migrations(ctx)
    assert fixed.failure is None and fixed.applied == ["0002_unique_code.sql"]
    with connect(empty_db) as conn:
        assert conn.execute("select indisvalid from pg_index where indexrelid = 'public.codes_code'::regclass"
                            ).fetchone() == (True,)
