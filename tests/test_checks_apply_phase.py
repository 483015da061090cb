"""checks/test_apply_phase.py passes on a healthy database and fails on each seeded defect."""

from __future__ import annotations

import pytest

from healstack.config import PROJECT_ROOT
from healstack.db import connect
from healstack.plugin import USER_PROPERTY

CHECKS = PROJECT_ROOT / "checks" / "test_apply_phase.py"
MIGRATION_COUNT = len([p for p in (PROJECT_ROOT / "migrations").glob("*.sql") if not p.name.endswith(".rollback.sql")])
ALL_CHECKS = 2 * MIGRATION_COUNT + 2


@pytest.fixture(autouse=True)
def _migrations_copy(monkeypatch, migrations_copy):
    """These checks read migrations/ too: give them a writable copy to seed defects into."""
    monkeypatch.setenv("HEALSTACK_MIGRATIONS_DIR", str(migrations_copy))


def _run(pytester, *args):
    return pytester.runpytest(str(CHECKS), "-q", "-p", "no:randomly", *args)


def test_all_checks_pass_on_a_healthy_database(pytester, against):
    _run(pytester).assert_outcomes(passed=ALL_CHECKS)


def test_pending_migration_fails_its_check(pytester, against, migrations_copy):
    (migrations_copy / "0099_more.sql").write_text("create table if not exists public.more (id int primary key);\n")
    (migrations_copy / "0099_more.rollback.sql").write_text("drop table if exists public.more;\n")
    result = _run(pytester)
    result.assert_outcomes(passed=ALL_CHECKS + 1, failed=1)
    result.stdout.fnmatch_lines(["*test_migration_is_applied?0099_more.sql*", "*HS104*pending*"])


def test_edited_applied_migration_fails_the_drift_check(pytester, against, migrations_copy):
    path = migrations_copy / "0003_etl_state.sql"
    path.write_text(path.read_text() + "\n-- edited after apply\n")
    result = _run(pytester, "-k", "unchanged")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*HS102*0003_etl_state.sql: edited after it was applied*"])


def test_unsafe_migration_fails_the_safety_check(pytester, against, migrations_copy):
    (migrations_copy / "0099_cleanup.sql").write_text("drop table public.facts;\n")
    result = _run(pytester, "-k", "safe")
    result.assert_outcomes(passed=MIGRATION_COUNT, failed=1)
    result.stdout.fnmatch_lines(["*HS001*public.facts: 0099_cleanup.sql:1: DROP destroys data*"])


def test_table_without_rls_fails_the_healthcheck(pytester, against):
    with connect(against, autocommit=True) as conn:
        conn.execute("alter table public.agent_queries no force row level security")
    result = _run(pytester, "-k", "healthcheck")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*HS105*tables_without_force_rls: agent_queries*"])


def test_failures_travel_as_result_records(pytester, against):
    with connect(against, autocommit=True) as conn:
        conn.execute("alter table public.facts disable row level security")
    recorder = pytester.inline_run(str(CHECKS), "-k", "healthcheck")
    [report] = [r for r in recorder.getreports("pytest_runtest_logreport") if r.when == "call"]
    records = dict(report.user_properties)[USER_PROPERTY]
    assert report.failed
    assert records[0]["check_id"] == "HS105" and records[0]["outcome"] == "failed"
    assert records[0]["evidence"]["tables_without_rls"] == ["facts"]
