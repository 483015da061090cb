"""The healstack pytest plugin: a target database for checks/, and CheckResult records as test outcomes.

A check appends CheckResult records to the ``healstack_results`` fixture. After the test body runs,
any FAILED or ERROR record fails the test with one line per finding; NOT_EVALUATED skips it. The
records are attached to the report (``user_properties``) so reports, tickets and notifications read
data, never console text.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from healstack.config import Settings
from healstack.db import connect
from healstack.results import CheckResult, Outcome
from healstack.target import Target, open_target

RESULTS_KEY = pytest.StashKey[list[CheckResult]]()
USER_PROPERTY = "healstack_results"


class TargetHolder:
    """Opens the target on first use, so collection (parametrizing by what the database holds) and
    the tests share one database; closed when pytest ends."""

    def __init__(self) -> None:
        self.settings = Settings.from_env()
        self._stack = contextlib.ExitStack()
        self._target: Target | None = None

    def get(self) -> Target:
        if self._target is None:
            self._target = self._stack.enter_context(open_target(self.settings, migrated=True))
        return self._target

    def close(self) -> None:
        self._stack.close()


HOLDER_KEY = pytest.StashKey[TargetHolder]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[HOLDER_KEY] = TargetHolder()


def pytest_unconfigure(config: pytest.Config) -> None:
    holder = config.stash.get(HOLDER_KEY, None)
    if holder is not None:
        holder.close()


def target_of(config: pytest.Config) -> Target:
    """The database under check: DATABASE_URL, or an embedded server with every migration applied."""
    return config.stash[HOLDER_KEY].get()


@pytest.fixture(scope="session")
def healstack_settings(pytestconfig: pytest.Config) -> Settings:
    return pytestconfig.stash[HOLDER_KEY].settings


@pytest.fixture(scope="session")
def healstack_target(pytestconfig: pytest.Config) -> Target:
    return target_of(pytestconfig)


@pytest.fixture(scope="session")
def healstack_conn(healstack_target: Target) -> Iterator[psycopg.Connection[Any]]:
    """One read-mostly autocommit connection to the target for the whole check session."""
    with connect(healstack_target.dsn, autocommit=True) as conn:
        yield conn


@pytest.fixture
def healstack_results(request: pytest.FixtureRequest) -> list[CheckResult]:
    results: list[CheckResult] = []
    request.node.stash[RESULTS_KEY] = results
    return results


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report: pytest.TestReport = yield  # type: ignore[misc]
    results = item.stash.get(RESULTS_KEY, None)
    if call.when != "call" or results is None:
        return report  # type: ignore[return-value]
    report.user_properties.append((USER_PROPERTY, [r.to_dict() for r in results]))
    if not report.passed:
        return report  # type: ignore[return-value]
    bad = [r for r in results if r.outcome in (Outcome.FAILED, Outcome.ERROR)]
    skipped = [r for r in results if r.outcome is Outcome.NOT_EVALUATED]
    if bad:
        report.outcome = "failed"
        report.longrepr = "\n".join(r.line() for r in bad)
    elif skipped:
        report.outcome = "skipped"
        path, line, _ = item.location
        report.longrepr = (path, (line or 0) + 1, "; ".join(r.line() for r in skipped))
    return report  # type: ignore[return-value]
