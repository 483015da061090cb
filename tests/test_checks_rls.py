"""checks/test_rls_contract.py passes on the stack and catches each seeded defect, naming table,
identity and command."""

from __future__ import annotations

import pytest

from healstack.config import PROJECT_ROOT
from healstack.db import connect
from healstack.rls.contract import load_contract
from healstack.rls.probes import cases

CHECKS = str(PROJECT_ROOT / "checks" / "test_rls_contract.py")
CASES = len(cases(load_contract(PROJECT_ROOT / "checks" / "rls_contract.toml")))


def test_the_stack_keeps_its_contract(pytester, against):
    # every case, the coverage check, and one leak probe per identity on the one exposed view
    pytester.runpytest(CHECKS, "-q").assert_outcomes(passed=CASES + 1 + 3)


DEFECTS = [
    ("rls-disabled", ["alter table public.events disable row level security"], "events and tenant and select",
     "*events: tenant select: sees * rows of other tenants*"),
    ("using-true", ["create policy spend_open on public.spend for select to authenticated using (true)"],
     "spend and tenant and select", "*spend: tenant select: sees * rows of other tenants*"),
    # Postgres reads an INSERT policy without WITH CHECK as admitting no row: the tenant loses its own inserts
    ("insert-without-check", ["drop policy facts_insert_own_project on public.facts",
                              "create policy facts_insert_any on public.facts for insert to authenticated"],
     "facts and tenant and insert", "*facts: tenant insert own: expected to be allowed, was rejected by WITH CHECK*"),
    ("insert-check-true", ["drop policy facts_insert_own_project on public.facts",
                           "create policy facts_insert_any on public.facts for insert to authenticated"
                           " with check (true)"],
     "facts and tenant and insert", "*facts: tenant insert other: expected to be denied, affected 1 rows*"),
    ("view-without-security-invoker", ["alter view public.decision_sync_events set (security_invoker = false)"],
     "leak", "*tenant reads * rows of another tenant through relation public.decision_sync_events*"),
    ("definer-function", ["create function public.all_facts() returns setof public.facts language sql"
                          " security definer set search_path = '' as 'select * from public.facts'"],
     "leak and all_facts", "*tenant reads * rows of another tenant through function public.all_facts()*"),
    ("force-removed", ["alter table public.agent_queries owner to authenticated",
                       "alter table public.agent_queries no force row level security"],
     "agent_queries and tenant and select", "*agent_queries: tenant select: sees * rows of other tenants*"),
    ("user-metadata", ["alter policy orders_select_own_project on public.orders"
                       " using (project = (select auth.jwt() -> 'user_metadata' ->> 'project'))"],
     "orders and tenant and select", "*orders: tenant select: sees * rows of other tenants*"),
    ("table-not-in-contract", ["create table public.newcomer (id int primary key)"],
     "every_table", "*HS503*public.newcomer: table has no entry in the RLS contract*"),
]


@pytest.mark.parametrize(("statements", "selection", "expected"), [d[1:] for d in DEFECTS],
                         ids=[d[0] for d in DEFECTS])
def test_seeded_defect_is_caught(pytester, against, statements, selection, expected):
    with connect(against, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)
    result = pytester.runpytest(CHECKS, "-q", "-k", selection)
    assert result.parseoutcomes().get("failed", 0) >= 1
    result.stdout.fnmatch_lines([expected])
