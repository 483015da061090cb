"""Properties: an identity sees exactly the rows whose tenant matches its claim, for every tenant table,
and no write by a non-service identity touches another tenant's rows, whatever the claims look like."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from psycopg import sql
from repo import REPO

from healstack.db import throwaway_database
from healstack.rls.contract import TableContract, load_contract
from healstack.rls.probes import Probe
from healstack.rls.simulator import Identity, Simulator, service_role

CONTRACTS = load_contract(REPO / "checks" / "rls_contract.toml")
TENANT_TABLES = sorted(t for t, c in CONTRACTS.items() if c.tenant and "tenant" in c.allowed["select"])

TENANTS = st.sampled_from(["p", "q", "5", "true", "O'Brien", "ümlaut", " p", ""])
CLAIM_VALUES = st.one_of(TENANTS, st.integers(0, 9), st.booleans(), st.none())


def _claims(key: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.just({}),                                                              # no app_metadata
        st.just({"app_metadata": {}}),                                            # no tenant claim
        st.builds(lambda v: {"app_metadata": {key: v}}, CLAIM_VALUES),            # right place, any type
        st.builds(lambda v: {"app_metadata": {}, "user_metadata": {key: v}}, TENANTS),  # forged by the user
        st.builds(lambda v: {key: v}, TENANTS),                                   # forged at the top level
        st.builds(lambda v: {"app_metadata": v}, TENANTS),                        # app_metadata not an object
    )


def _key(tc: TableContract) -> str:
    """The app_metadata key of a shipped table's claim (each is ``app_metadata.<key>``)."""
    assert tc.claim is not None and tc.claim.startswith("app_metadata.")
    return tc.claim.removeprefix("app_metadata.")


def claim_text(claims: dict[str, Any], key: str) -> str | None:
    """What `auth.jwt() -> 'app_metadata' ->> key` yields, modelled in Python."""
    app_metadata = claims.get("app_metadata")
    if not isinstance(app_metadata, dict) or app_metadata.get(key) is None:
        return None
    value = app_metadata[key]
    return value if isinstance(value, str) else json.dumps(value)


@pytest.fixture(scope="module")
def probe(pg_server, migrated_template):
    with throwaway_database(pg_server, "rls_properties", template=migrated_template) as dsn:
        simulator = Simulator(dsn)
        yield Probe(simulator, CONTRACTS)
        simulator.close()


def _seed(probe: Probe, tc: TableContract, tenants: list[str]) -> None:
    probe.sim.become(service_role())
    for n, tenant in enumerate(tenants):
        row = probe.row(tc, tenant, n)
        probe.sim.conn.execute(sql.SQL("insert into {} ({}) values ({})").format(
            tc.ident, sql.SQL(", ").join(map(sql.Identifier, row)),
            sql.SQL(", ").join(sql.Placeholder() * len(row))), list(row.values()))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[TableContract, list[str], Identity]:
    tc = CONTRACTS[draw(st.sampled_from(TENANT_TABLES))]
    assert tc.claim is not None
    rows = draw(st.lists(TENANTS, max_size=6))
    return tc, rows, Identity("drawn", "authenticated", draw(_claims(_key(tc))))


@pytest.mark.slow
@given(scenario=scenarios())
def test_visible_rows_are_exactly_the_claimed_tenants(probe, scenario):
    tc, rows, identity = scenario
    assert tc.tenant is not None and tc.claim is not None
    with probe.sim.transaction():
        _seed(probe, tc, rows)
        response = probe.sim.attempt(identity, sql.SQL("select {}::text from {}").format(
            sql.Identifier(tc.tenant), tc.ident))
    expected = claim_text(identity.claims, _key(tc))
    assert sorted(r[0] for r in response.rows) == sorted(t for t in rows if t == expected)


@pytest.mark.slow
@given(scenario=scenarios(), target=TENANTS, verb=st.sampled_from(["insert", "update", "reassign", "delete"]))
def test_no_write_reaches_another_tenant(probe, scenario, target, verb):
    tc, rows, identity = scenario
    assert tc.tenant is not None and tc.claim is not None
    own = claim_text(identity.claims, _key(tc))
    table, tenant = tc.ident, sql.Identifier(tc.tenant)
    column = sql.Identifier(tc.update_column or tc.tenant)
    if verb == "insert":
        row = probe.row(tc, target, 9)
        statement = sql.SQL("insert into {} ({}) values ({})").format(
            table, sql.SQL(", ").join(map(sql.Identifier, row)), sql.SQL(", ").join(sql.Placeholder() * len(row)))
        params: list[Any] = list(row.values())
    elif verb == "update":
        statement = sql.SQL("update {} set {} = {} where {} = %s").format(table, column, column, tenant)
        params = [target]
    elif verb == "reassign":
        statement = sql.SQL("update {} set {} = %s where {} is not distinct from %s").format(table, tenant, tenant)
        params = [target, own]
    else:
        statement, params = sql.SQL("delete from {} where {} = %s").format(table, tenant), [target]
    with probe.sim.transaction():
        _seed(probe, tc, rows)
        response = probe.sim.attempt(identity, statement, params)
    if target != own:
        assert response.verdict.denied, (verb, target, own, response)
