"""The RLS phase's function: contract coverage, every contract case, then the leak probes."""

from __future__ import annotations

from healstack.context import Context
from healstack.db import connect
from healstack.results import CheckResult, Outcome
from healstack.rls.contract import TableContract, load_contract
from healstack.rls.leaks import LEAK_IDENTITIES, exposed_objects, probe_leak
from healstack.rls.probes import Probe, cases
from healstack.rls.simulator import Simulator
from healstack.sqlfiles import query

COVERAGE_ID = "HS503"


def coverage(tables: set[str], contracts: dict[str, TableContract]) -> list[CheckResult]:
    """HS503: every table of the API schema has a contract entry, and every entry a table."""
    results = [CheckResult(COVERAGE_ID, Outcome.FAILED, f"public.{table}",
                           "table has no entry in the RLS contract: add one to the contract file")
               for table in sorted(tables - contracts.keys())]
    results += [CheckResult(COVERAGE_ID, Outcome.FAILED, f"public.{table}",
                            "the RLS contract names a table the database does not have")
                for table in sorted(contracts.keys() - tables)]
    return results or [CheckResult(COVERAGE_ID, Outcome.PASSED, "public", f"all {len(tables)} tables covered")]


def rls_contract(ctx: Context) -> list[CheckResult]:
    """Coverage, then each table x identity x command case, then each exposed object x identity."""
    path = ctx.settings.rls_contract
    if not path.exists() and "rls_contract" not in ctx.settings.explicit:
        return [CheckResult(COVERAGE_ID, Outcome.NOT_EVALUATED, "public",
                            f"no RLS contract at {path}; `healstack rls scaffold` writes one from the live policies")]
    contracts = load_contract(path)
    with connect(ctx.dsn, autocommit=True) as conn:
        tables = {row[0] for row in conn.execute(query("healstack.rls", "tables"))}
    results = coverage(tables, contracts)
    simulator = Simulator(ctx.dsn)
    try:
        probe = Probe(simulator, contracts)
        results += [probe.run(case) for case in cases(contracts)]
        exposed = exposed_objects(simulator.conn)
        results += [probe_leak(probe, obj, who) for obj in exposed for who in LEAK_IDENTITIES] or [
            CheckResult("HS502", Outcome.PASSED, "public",
                        "no view or SECURITY DEFINER function is reachable by the API roles")]
    finally:
        simulator.close()
    log = ctx.evidence("rls")
    for r in results:
        log.event("check", r.line(), result=r.to_dict())
    return results
