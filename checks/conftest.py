"""Checks are parametrized by what the target holds: one case per schema difference, lint, RLS contract
case and exposed view or function."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from healstack import catalog
from healstack.db import connect
from healstack.dq.rules import load_rules
from healstack.plugin import HOLDER_KEY, target_of
from healstack.results import CheckResult
from healstack.rls.contract import TableContract, load_contract
from healstack.rls.leaks import LEAK_IDENTITIES, exposed_objects
from healstack.rls.probes import Probe, cases
from healstack.rls.simulator import Simulator
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
    if "rls_case" in metafunc.fixturenames:
        all_cases = cases(load_contract(metafunc.config.stash[HOLDER_KEY].settings.rls_contract))
        metafunc.parametrize("rls_case", all_cases, ids=[c.id for c in all_cases])
    if "dq_rule" in metafunc.fixturenames:
        rules = load_rules(metafunc.config.stash[HOLDER_KEY].settings.dq_rules)
        metafunc.parametrize("dq_rule", rules, ids=[r.id for r in rules])
    if "leak_target" in metafunc.fixturenames:
        with connect(target_of(metafunc.config).dsn) as conn:
            targets = [(obj, who) for obj in exposed_objects(conn) for who in LEAK_IDENTITIES] or [(None, None)]
        metafunc.parametrize("leak_target", targets,
                             ids=[f"{o.label}-{w}" if o else "none-exposed" for o, w in targets])


@pytest.fixture(scope="session")
def rls_contracts(healstack_settings) -> dict[str, TableContract]:
    return load_contract(healstack_settings.rls_contract)


@pytest.fixture(scope="session")
def rls_probe(healstack_target, rls_contracts) -> Iterator[Probe]:
    """One simulator connection (as authenticator) for every behaviour probe of the session."""
    simulator = Simulator(healstack_target.dsn)
    try:
        yield Probe(simulator, rls_contracts)
    finally:
        simulator.close()
