"""The request simulator tells allowed, filtered, rejected-by-check and rejected-by-grant apart."""

from __future__ import annotations

import pytest
from psycopg import sql

from healstack.errors import ConfigError
from healstack.rls.contract import load_contract
from healstack.rls.simulator import Simulator, Verdict, anon, anonymous_user, service_role, tenant_user


@pytest.fixture
def sim(migrated_db):
    simulator = Simulator(migrated_db)
    yield simulator
    simulator.close()


def _seed(sim: Simulator) -> None:
    sim.become(service_role())
    sim.conn.execute("insert into public.facts (project, topic, key, value) values"
                     " ('p', 't', 'k1', '1'), ('q', 't', 'k2', '2')")


P = tenant_user("p")
INSERT_Q = sql.SQL("insert into public.facts (project, topic, key, value) values ('q', 't', 'k', '1') returning id")


def test_a_request_runs_as_its_api_role_not_as_the_connection(sim):
    response = sim.request(anon(), sql.SQL("select current_user::text, session_user::text"))
    assert response.rows == [("anon", sim.conn.info.user)]


@pytest.mark.parametrize(("identity", "statement", "verdict", "rows"), [
    (P, sql.SQL("select project from public.facts"), Verdict.ALLOWED, [("p",)]),
    (P, sql.SQL("select project from public.facts where project = 'q'"), Verdict.FILTERED, []),
    (P, INSERT_Q, Verdict.REJECTED_CHECK, []),
    (P, sql.SQL("delete from public.facts"), Verdict.REJECTED_GRANT, []),
    (anon(), sql.SQL("select project from public.facts"), Verdict.REJECTED_GRANT, []),
    (anonymous_user(), sql.SQL("select project from public.facts"), Verdict.FILTERED, []),
    (service_role(), sql.SQL("select project from public.facts order by 1"), Verdict.ALLOWED, [("p",), ("q",)]),
])
def test_verdicts(sim, identity, statement, verdict, rows):
    response = sim.request(identity, statement, setup=_seed)
    assert (response.verdict, response.rows) == (verdict, rows)
    if verdict is Verdict.REJECTED_CHECK:
        assert "row-level security" in response.message


def test_claims_always_carry_the_role_and_the_request_is_rolled_back(sim):
    response = sim.request(P, sql.SQL("select current_setting('request.jwt.claims')::jsonb ->> 'role',"
                                      " current_user::text"))
    assert response.rows == [("authenticated", "authenticated")]
    sim.request(service_role(), sql.SQL("insert into public.facts (project, topic, key, value)"
                                        " values ('p', 't', 'k', '1') returning id"))
    assert sim.request(service_role(), sql.SQL("select count(*) from public.facts")).rows == [(0,)]


@pytest.mark.parametrize(("body", "error"), [
    ('[t]\nselect = ["everyone"]\n', "select must list some of"),
    ('[t]\ntenant = "project"\ncolour = "red"\n', "unknown keys colour"),
    ('[t]\nselect = ["tenant"]\n', "names no tenant or owner column"),
    ('[t]\nowner = "user_id"\ntenant = "team_id"\n', "names both owner and tenant"),
    ('[t]\ntenant = "team_id"\nmember = { table = "m" }\n', "member must be"),
    ('[t]\nowner = "user_id"\nmember = { table = "m", tenant = "t", user = "u" }\n', "member needs tenant"),
    ('[t]\ntenant = "team_id"\nclaim = "app_metadata."\n', "claim must be a dotted path"),
    ('[t]\nsample = { n = 1 }\n', "sample must map columns to strings"),
    ("[t\n", "rls.toml"),
])
def test_contract_errors_name_the_entry(tmp_path, body, error):
    path = tmp_path / "rls.toml"
    path.write_text(body)
    with pytest.raises(ConfigError, match=error):
        load_contract(path)
