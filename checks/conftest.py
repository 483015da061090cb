"""Checks are parametrized by what the target holds: one case per schema difference and per lint."""

from __future__ import annotations

import pytest

from healstack import catalog
from healstack.db import connect
from healstack.plugin import HOLDER_KEY, target_of
from healstack.results import CheckResult
from healstack.verify.lints import LINTS
from healstack.verify.parity import parity_results
from healstack.verify.reference import reference_snapshot

PARITY_KEY = pytest.StashKey[list[CheckResult]]()


def _parity(config: pytest.Config) -> list[CheckResult]:
    if PARITY_KEY not in config.stash:
        target = target_of(config)
        settings = config.stash[HOLDER_KEY].settings
        expected = reference_snapshot(settings, target.dsn)
        with connect(target.dsn) as conn:
            actual = catalog.take(conn)
        config.stash[PARITY_KEY] = parity_results(expected, actual)
    return config.stash[PARITY_KEY]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "schema_difference" in metafunc.fixturenames:
        results = _parity(metafunc.config)
        metafunc.parametrize("schema_difference", results, ids=[r.object for r in results])
    if "lint" in metafunc.fixturenames:
        metafunc.parametrize("lint", LINTS, ids=[f"{lint.id}-{lint.name}" for lint in LINTS])
