"""A project's own pgTAP tests (supabase/tests), run as `supabase test db` runs them: each assertion is a
result (HS504), a failing one carries pgTAP's diagnostics, a file that stops on an error or runs fewer tests
than it planned fails by name, and a project without tests gets no result at all."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from healstack.compat import ensure_supabase_compat
from healstack.config import Settings
from healstack.context import Context
from healstack.db import connect
from healstack.results import Outcome
from healstack.rls.project_tests import project_tests

FILES = {
    "profiles.test.sql": """
begin;
select plan(3);
select has_table('auth', 'users', 'auth.users exists');
select ok(auth.uid() is null, 'no user outside a request');
select is(1 + 1, 3, 'arithmetic, wrong on purpose');
select * from finish();
rollback;
""",
    "nested/short.test.sql": """
begin;
select plan(2);
select pass('only one of two');
select * from finish();
rollback;
""",
    "broken.test.sql": """
begin;
select plan(1);
select ok(true, 'before the error');
select * from no_such_table;
rollback;
""",
}


@pytest.fixture
def ctx(empty_db: str, test_settings: Settings, tmp_path: Path) -> Context:
    folder = tmp_path / "supabase" / "tests"
    for name, text in FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    with connect(empty_db, autocommit=True) as c:
        ensure_supabase_compat(c)
        available = c.execute("select exists (select from pg_available_extensions where name = 'pgtap')").fetchone()
    if not (available and available[0]):
        pytest.skip("pgTAP is not installed for this server (CI installs postgresql-15-pgtap)")
    return Context(empty_db, dataclasses.replace(test_settings, db_tests=folder))


def test_each_assertion_is_a_result_and_broken_files_fail_by_name(ctx: Context) -> None:
    found = {r.object: r for r in project_tests(ctx)}
    assert {name: r.outcome for name, r in found.items()} == {
        "broken.test.sql:1": Outcome.PASSED,
        "broken.test.sql": Outcome.ERROR,
        "nested/short.test.sql:1": Outcome.PASSED,
        "nested/short.test.sql": Outcome.FAILED,
        "profiles.test.sql:1": Outcome.PASSED,
        "profiles.test.sql:2": Outcome.PASSED,
        "profiles.test.sql:3": Outcome.FAILED,
    }
    failed = found["profiles.test.sql:3"]
    assert failed.message == "arithmetic, wrong on purpose" and "have: 2" in " ".join(failed.evidence["diagnostics"])
    assert found["nested/short.test.sql"].message == "planned 2 tests, ran 1"
    assert found["broken.test.sql"].message.startswith('stopped after 1 tests: relation "no_such_table" does not')
    with connect(ctx.dsn) as c:  # installed where the Supabase CLI puts it
        assert c.execute("select extnamespace::regnamespace::text from pg_extension where extname = 'pgtap'"
                         ).fetchone() == ("extensions",)


def test_a_project_without_tests_gets_no_result(empty_db: str, test_settings: Settings, tmp_path: Path) -> None:
    settings = dataclasses.replace(test_settings, db_tests=tmp_path / "supabase" / "tests")
    assert project_tests(Context(empty_db, settings)) == []
