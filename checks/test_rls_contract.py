"""The RLS contract, proven by behaviour: every table x identity x command, and leak probes."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from healstack.results import CheckResult, Outcome
from healstack.rls.contract import TableContract
from healstack.rls.leaks import probe_leak
from healstack.rls.probes import Case, Probe

pytestmark = pytest.mark.verify


def test_contract(rls_case: Case, rls_probe: Probe, healstack_results) -> None:
    healstack_results.append(rls_probe.run(rls_case))


def test_every_table_is_in_the_contract(healstack_conn: psycopg.Connection[Any],
                                        rls_contracts: dict[str, TableContract], healstack_results) -> None:
    tables = {r[0] for r in healstack_conn.execute(
        "select relname from pg_class where relnamespace = 'public'::regnamespace and relkind in ('r', 'p')")}
    for table in sorted(tables - rls_contracts.keys()):
        healstack_results.append(CheckResult(
            "HS503", Outcome.FAILED, f"public.{table}",
            "table has no entry in the RLS contract: add one to checks/rls_contract.toml"))
    for table in sorted(rls_contracts.keys() - tables):
        healstack_results.append(CheckResult("HS503", Outcome.FAILED, f"public.{table}",
                                             "the RLS contract names a table the database does not have"))
    if not healstack_results:
        healstack_results.append(CheckResult("HS503", Outcome.PASSED, "public", f"all {len(tables)} tables covered"))


def test_no_leak_through_views_or_definer_functions(leak_target, rls_probe: Probe, healstack_results) -> None:
    obj, who = leak_target
    if obj is None:
        healstack_results.append(CheckResult("HS502", Outcome.PASSED, "public", "no view or SECURITY DEFINER "
                                             "function is reachable by the API roles"))
        return
    healstack_results.append(probe_leak(rls_probe, obj, who))
