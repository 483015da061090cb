"""The healstack pytest plugin (entry point ``healstack``): settings, the target, and results as records.

Installing healstack is enough: `pytest --pyargs healstack.checks` runs the guardrails against the project in
the current directory. Settings are resolved once, on first use (option, ini or [tool.healstack], environment,
default relative to rootdir); the target opens on first use too, never at collection, so `--collect-only` and
`--help` start nothing. A guardrail reports through the ``healstack_check`` fixture: each result is a subtest
that fails for FAILED/ERROR and is skipped for NOT_EVALUATED; every record goes on the item's user_properties
(so JUnit XML and JSON reports carry it) and into reports/<run id>/results.jsonl at the end of the session.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator
from typing import Any, NoReturn

import psycopg
import pytest

from healstack.config import OPTIONS, Settings, read_project_table
from healstack.db import connect
from healstack.errors import HealstackError
from healstack.redact import redact
from healstack.registry import Phase
from healstack.report.finish import finish
from healstack.report.stream import RunData
from healstack.report.summary import console_lines
from healstack.results import CheckResult, ExitCode, Outcome
from healstack.run import Actions, Run
from healstack.target import Target

RUN_KEY = pytest.StashKey["RunHolder"]()
FINISHED_KEY = pytest.StashKey[RunData]()
USER_PROPERTY = "healstack"


class PresetRun:
    """Registered by the healstack CLI: its run (settings resolved, target open) replaces the plugin's own."""

    def __init__(self, run: Run) -> None:
        self.run = run


class RunHolder:
    """The session's run, created on first use so that sessions which never check anything resolve nothing."""

    def __init__(self, config: pytest.Config, preset: Run | None) -> None:
        self.config, self.run, self.owned = config, preset, preset is None

    def get(self) -> Run:
        if self.run is None:
            try:
                option = self.config.getoption
                self.run = Run(_settings(self.config), Actions(
                    apply=option("healstack_apply"), dry_run=option("healstack_dry_run"), etl=option("healstack_etl"),
                    doctor=True, heal=option("healstack_heal")))
            except HealstackError as e:
                stop(e)
        return self.run


def stop(error: HealstackError, run: Run | None = None) -> NoReturn:
    """Bad input or an unreachable target ends the session at once, with one line and healstack's exit code.
    (The healstack command prints the line itself once pytest returns: inside a test, pytest captures it.)"""
    if run is not None:
        run.error = f"healstack: error: {redact(str(error))}"
    pytest.exit(f"healstack: error: {redact(str(error))}", returncode=int(ExitCode.BAD_INPUT)
                if error.exit_code == ExitCode.BAD_INPUT else error.exit_code)


def _settings(config: pytest.Config) -> Settings:
    """Option, then the ini file's healstack_* keys (relative to the ini file) or [tool.healstack] of the
    rootdir's pyproject.toml, then the environment, then defaults relative to rootdir."""
    ini_dir = config.inipath.parent if config.inipath else config.rootpath
    options: dict[str, Any] = {}
    for option in OPTIONS:
        value, ini = config.getoption(option.ini), str(config.getini(option.ini) or "")
        if value is None and ini:
            value = str(ini_dir / ini) if option.kind == "path" else ini
        options[option.name] = value
    return Settings.resolve(config.rootpath, options=options, project_dir=config.rootpath,
                            project=read_project_table(config.rootpath / "pyproject.toml"))


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("healstack", "healstack guardrails")
    for option in OPTIONS:
        group.addoption(option.flag, dest=option.ini, default=None, help=option.help)
        parser.addini(option.ini, help=option.help, default="")
    group.addoption("--healstack-apply", action="store_true", default=False,
                    help="apply pending migrations to the target before checking it")
    group.addoption("--healstack-dry-run", action="store_true", default=False,
                    help="with --healstack-apply: plan the apply, change nothing")
    group.addoption("--healstack-etl", action="store_true", default=False,
                    help="pull the stack's sources before checking (their recorded pages on the embedded default)")
    group.addoption("--healstack-heal", action="store_true", default=None,
                    help="the doctor: heal what is safe and check again (default on the embedded default only)")
    group.addoption("--healstack-no-heal", action="store_false", dest="healstack_heal",
                    help="the doctor only diagnoses")


def pytest_configure(config: pytest.Config) -> None:
    for phase in Phase:
        config.addinivalue_line("markers", f"{phase.value}: healstack guardrails of the {phase.value} phase")
    preset = next((p.run for p in config.pluginmanager.get_plugins() if isinstance(p, PresetRun)), None)
    config.stash[RUN_KEY] = RunHolder(config, preset)


def pytest_unconfigure(config: pytest.Config) -> None:
    holder = config.stash.get(RUN_KEY, None)
    if holder is not None and holder.owned and holder.run is not None:
        holder.run.close()


_PHASE_NAMES = frozenset(p.value for p in Phase)


def phase_of(item: pytest.Item) -> Phase | None:
    for marker in item.iter_markers():
        if marker.name in _PHASE_NAMES:
            return Phase(marker.name)
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Guardrails run in the runbook's order (apply first: the other phases judge what it built)."""
    if any(phase_of(item) for item in items):
        items.sort(key=lambda item: phase.order if (phase := phase_of(item)) else len(Phase))


@pytest.fixture(scope="session")
def healstack_run(pytestconfig: pytest.Config) -> Run:
    return pytestconfig.stash[RUN_KEY].get()


@pytest.fixture(scope="session")
def healstack_settings(healstack_run: Run) -> Settings:
    return healstack_run.settings


@pytest.fixture(scope="session")
def healstack_target(healstack_run: Run) -> Target:
    try:
        return healstack_run.target()
    except HealstackError as e:
        stop(e, healstack_run)


@pytest.fixture(scope="session")
def healstack_conn(healstack_target: Target) -> Iterator[psycopg.Connection[Any]]:
    """One autocommit connection to the target for the whole session."""
    with connect(healstack_target.dsn, autocommit=True) as conn:
        yield conn


class Reporter:
    """Reports one guardrail's results: one subtest per result, one record per result."""

    def __init__(self, request: pytest.FixtureRequest, subtests: pytest.Subtests, run: Run) -> None:
        self.item, self.subtests, self.run = request.node, subtests, run

    def phase(self, phase: Phase) -> None:
        """Report everything the phase's function finds on the target."""
        try:
            self.run.target()
            stopped = self.run.stopped_before(phase)
            if stopped:
                pytest.skip(f"not evaluated: {stopped}")
            results = self.run.results(phase)
        except HealstackError as e:
            stop(e, self.run)
        except Exception as e:
            # a check that broke is a failure of the run, recorded (report, ticket), then shown with its traceback
            self.report([CheckResult("HS999", Outcome.ERROR, phase.value,
                                     f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")], phase)
            raise
        self.report(results, phase)

    def report(self, results: Iterable[CheckResult], phase: Phase | None = None) -> None:
        results = [_promoted(r) if self.run.settings.warnings_fail else r for r in results]
        phase = phase or phase_of(self.item) or Phase.DQ
        for result in results:
            record = self.run.record(self.item.nodeid, phase, result)
            self.item.user_properties.append((USER_PROPERTY, redact(json.dumps(record.to_dict(self.run.id),
                                                                               default=str, sort_keys=True))))
        if len(results) == 1:
            _judge(results[0])
            return
        for result in results:
            with self.subtests.test(f"{result.check_id} {result.object}"):
                _judge(result)
        if results and all(r.outcome is Outcome.NOT_EVALUATED for r in results):
            pytest.skip("; ".join(sorted({r.message for r in results})))


def _promoted(result: CheckResult) -> CheckResult:
    """With warnings_fail (CI's strict mode), a warning is recorded as the failure it then is, so the report,
    the tickets and the exit code all agree."""
    if result.outcome is not Outcome.WARNED:
        return result
    return dataclasses.replace(result, outcome=Outcome.FAILED,
                               message=f"{result.message} (a warning; warnings_fail makes it fail the run)")


def _judge(result: CheckResult) -> None:
    """The one outcome policy: FAILED and ERROR fail, NOT_EVALUATED skips with its reason, WARNED passes
    (and is listed in the summary)."""
    if result.outcome.failing:
        pytest.fail(redact(result.line()), pytrace=False)
    if result.outcome is Outcome.NOT_EVALUATED:
        pytest.skip(redact(result.line()))


@pytest.fixture
def healstack_check(request: pytest.FixtureRequest, subtests: pytest.Subtests, healstack_run: Run) -> Reporter:
    return Reporter(request, subtests, healstack_run)


def _session_run(config: pytest.Config) -> Run | None:
    """The session's run, if it reported anything: sessions that checked nothing are left alone."""
    holder = config.stash.get(RUN_KEY, None)
    return holder.run if holder is not None and holder.run is not None and holder.run.records else None


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Everything the run leaves behind (stream, tickets, notifications, report, summaries); a refused apply
    exits 3, as the CLI does."""
    run = _session_run(session.config)
    if run is None:
        return
    status = int(session.exitstatus)
    if exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) and run.refused:
        status = int(ExitCode.REFUSED)
    if exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) and run.bad_input:
        status = int(ExitCode.BAD_INPUT)  # preflight: settings it cannot use, or a target it cannot reach
    data, status = finish(run, status)
    session.config.stash[FINISHED_KEY] = data
    session.exitstatus = status


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    data = config.stash.get(FINISHED_KEY, None)
    if data is None:
        return
    terminalreporter.write_sep("=", "healstack")
    for line in console_lines(data):
        terminalreporter.write_line(line)
