"""Guardrails of the apply phase, run against the target: every migration applied, unchanged, safe."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from healstack.config import Settings
from healstack.migrate.drift import ledger_drift
from healstack.migrate.files import discover
from healstack.migrate.ledger import read_ledger
from healstack.migrate.lint import lint_migration
from healstack.results import CheckResult, Outcome

pytestmark = pytest.mark.apply

MIGRATIONS = discover(Settings.from_env().migrations_dir)


@pytest.mark.parametrize("migration", MIGRATIONS, ids=lambda m: m.label)
def test_migration_is_applied(migration, healstack_conn: psycopg.Connection[Any], healstack_results) -> None:
    applied = read_ledger(healstack_conn)
    if migration.version in applied:
        healstack_results.append(CheckResult("HS104", Outcome.PASSED, migration.label, "applied"))
    else:
        healstack_results.append(CheckResult("HS104", Outcome.FAILED, migration.label,
                                             "pending: not in the target's ledger; run healstack apply",
                                             {"version": migration.version}))


def test_applied_migrations_unchanged(healstack_conn: psycopg.Connection[Any], healstack_results) -> None:
    healstack_results.extend(ledger_drift(MIGRATIONS, read_ledger(healstack_conn)))


@pytest.mark.parametrize("migration", MIGRATIONS, ids=lambda m: m.label)
def test_migration_is_safe(migration, healstack_results) -> None:
    healstack_results.extend(lint_migration(migration))


def test_system_healthcheck(healstack_conn: psycopg.Connection[Any], healstack_results) -> None:
    row = healstack_conn.execute("select public.system_healthcheck()").fetchone()
    assert row is not None
    health = row[0]
    problems = {k: health[k] for k in ("missing_tables", "tables_without_rls", "tables_without_force_rls",
                                        "tables_without_policies") if health[k]}
    outcome = Outcome.PASSED if health["ok"] else Outcome.FAILED
    message = "ok" if health["ok"] else "; ".join(f"{k}: {', '.join(v)}" for k, v in problems.items())
    healstack_results.append(CheckResult("HS105", outcome, "public.system_healthcheck()", message, health))
