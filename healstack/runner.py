"""How the CLI runs guardrails: through pytest, in this process, with the run it prepared (settings resolved,
target open), so the CLI, nox and `pytest --pyargs healstack.checks` yield the same records and exit codes."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from healstack import checks as guardrails
from healstack.config import Settings
from healstack.plugin import PresetRun
from healstack.preflight import check_declarations
from healstack.registry import Phase
from healstack.run import Actions, Run

NO_ACTIONS = Actions()


def project_checks(settings: Settings) -> list[str]:
    """The project's own guardrails (test_*.py in its checks directory), run beside healstack's."""
    directory = settings.checks_dir
    return [str(directory)] if directory.is_dir() and any(directory.glob("test_*.py")) else []


def pytest_args(settings: Settings, phases: Sequence[Phase] | None, run: Run) -> list[str]:
    # --assert=plain: healstack is imported before pytest starts, so pytest could not rewrite its asserts
    # (and would warn); the checks judge results, not assert statements
    # the package's folder rather than --pyargs: with no path among its arguments, pytest loads the conftest.py
    # of every test* folder under the current directory, and a project's tests/conftest.py may import what
    # the healstack environment lacks (this repository's imports hypothesis)
    args = [str(Path(guardrails.__file__).parent), *project_checks(settings), "--rootdir", str(settings.root),
            "-p", "no:cacheprovider", "--assert=plain", f"--junitxml={run.directory / 'junit.xml'}"]
    if phases:  # preflight comes first in every run
        args += ["-m", " or ".join(p.value for p in [Phase.PREFLIGHT, *phases])]
    return args


def run_guardrails(settings: Settings, *, phases: Sequence[Phase] | None = None, actions: Actions = NO_ACTIONS,
                   keep: bool = False, extra: Sequence[str] = ()) -> int:
    """Run the guardrails of ``phases`` (all when None) after ``actions``; pytest's exit code, with
    healstack's meanings (README "Exit codes")."""
    check_declarations(settings)
    run = Run(settings, actions, keep=keep)
    try:
        target = run.target()
        run.connect()  # bad input and an unreachable target stop here, as one line
        print(f"healstack: run {run.id} on {target.description}", flush=True)
        code = int(pytest.main([*pytest_args(settings, phases, run), *extra], plugins=[PresetRun(run)]))
        if run.error:
            print(run.error, file=sys.stderr, flush=True)
        report = run.directory / "index.html"
        if report.exists():  # the last line: where to look (pytest's own summary line comes before it)
            print(f"healstack: report {report}")
        hint = target.stop_hint()
        if keep and hint:
            print(f"healstack: embedded server left running; stop it with: {hint}")
        sys.stdout.flush()
        return code
    finally:
        run.close()
