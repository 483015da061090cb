"""checks/ for the verify phase pass on a healthy database and fail, one by one, on seeded defects."""

from __future__ import annotations

from healstack.config import PROJECT_ROOT
from healstack.db import connect
from healstack.verify.lints import LINTS

CHECKS = PROJECT_ROOT / "checks"


def _run(pytester, *args):
    return pytester.runpytest(str(CHECKS / "test_schema_parity.py"), str(CHECKS / "test_security_lints.py"),
                              "-q", *args)


def test_healthy_database_passes_parity_and_every_lint(pytester, against):
    _run(pytester).assert_outcomes(passed=1 + len(LINTS))


def test_each_schema_difference_is_its_own_failure(pytester, against):
    with connect(against, autocommit=True) as conn:
        conn.execute("drop index public.idx_metrics_day")
        conn.execute("alter table public.orders no force row level security")
    result = _run(pytester, "-k", "parity")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines_random([
        "*HS301*indexes public.idx_metrics_day is missing*",
        "*HS303*relations public.orders differs: rls_forced: expected True, found False*",
    ])


def test_lint_failure_names_the_object_and_the_fix(pytester, against):
    with connect(against, autocommit=True) as conn:
        conn.execute("create table public.leaky (id int primary key)")
    result = _run(pytester, "-k", "HS401")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*HS401*public.leaky: RLS is disabled*fix: alter table*enable row level security*"])


def test_a_committed_waiver_silences_one_object(pytester, against, monkeypatch, tmp_path):
    with connect(against, autocommit=True) as conn:
        conn.execute("create table public.staging_import (id int)")
    waivers = tmp_path / "waivers.toml"
    waivers.write_text('[[waiver]]\nlint = "HS414"\nobject = "public.staging_import"\n'
                       'reason = "append-only staging, truncated after each import"\n')
    monkeypatch.setenv("HEALSTACK_LINT_WAIVERS", str(waivers))
    _run(pytester, "-k", "HS414").assert_outcomes(passed=1)
