"""The RLS phase's function: contract coverage, every contract case, then the leak probes."""

from __future__ import annotations

from healstack.context import Context
from healstack.db import connect
from healstack.errors import ConfigError
from healstack.results import CheckResult, Outcome
from healstack.rls.contract import TableContract, load_contract
from healstack.rls.leaks import LEAK_IDENTITIES, exposed_objects, probe_leak
from healstack.rls.probes import Probe, cases
from healstack.rls.simulator import Simulator
from healstack.sqlfiles import query

COVERAGE_ID = "HS503"


def coverage(tables: set[str], contracts: dict[str, TableContract]) -> list[CheckResult]:
    """HS503: every table the API can reach (or with RLS on) has a contract entry, and every entry a table."""
    results = [CheckResult(COVERAGE_ID, Outcome.FAILED, table,
                           "table has no entry in the RLS contract: add one to the contract file (`healstack rls "
                           "scaffold` writes a starting point)")
               for table in sorted(tables - contracts.keys())]
    results += [CheckResult(COVERAGE_ID, Outcome.FAILED, table,
                            "the RLS contract names a table the database does not have")
                for table in sorted(contracts.keys() - tables)]
    return results or [CheckResult(COVERAGE_ID, Outcome.PASSED, "public", f"all {len(tables)} tables covered")]


def unknown_columns(contracts: dict[str, TableContract], columns: dict[str, set[str]]) -> dict[str, str]:
    """Contract entries naming columns their table lacks: table -> what is wrong."""
    problems = {}
    for table, tc in contracts.items():
        if table not in columns:
            continue  # a missing table is HS503's finding
        named = {c for c in (tc.tenant, tc.update_column, *tc.sample) if c is not None}
        missing = sorted(named - columns[table])
        if missing:
            problems[table] = (f"the contract names {', '.join(missing)}, which {table} does not have; fix "
                               "the contract's tenant, update_column or sample")
    return problems


def rls_contract(ctx: Context) -> list[CheckResult]:
    """Coverage, then each table x identity x command case, then each exposed object x identity."""
    path = ctx.settings.rls_contract
    if not path.exists() and "rls_contract" not in ctx.settings.explicit:
        return [CheckResult(COVERAGE_ID, Outcome.NOT_EVALUATED, "public",
                            f"no RLS contract at {path}: declare each API table's tenant and expectations there "
                            "(README, RLS contract)")]
    contracts = load_contract(path)
    with connect(ctx.dsn, autocommit=True) as conn:
        columns = {name: set(cols) for name, cols, *_ in conn.execute(query("healstack.rls", "tables"))}
    results = coverage(set(columns), contracts)
    for table in contracts.keys() - columns.keys():
        del contracts[table]  # HS503 names it; its cases have no table to run on
    for table, problem in sorted(unknown_columns(contracts, columns).items()):
        results.append(CheckResult("HS501", Outcome.ERROR, table, problem))
        del contracts[table]  # its cases cannot be seeded: one error for the table, not one per case
    simulator = Simulator(ctx.dsn)
    try:
        try:
            simulator.check_roles()
        except ConfigError as e:
            return [*results, CheckResult("HS501", Outcome.ERROR, "public", str(e))]
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
