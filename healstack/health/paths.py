"""HS815: the stack's own access paths. Each query the stack depends on (checks/health.toml) runs with
EXPLAIN (ANALYZE, BUFFERS) as the API runs it -- a signed-in user of one tenant, through the RLS policies, or
service_role -- in a transaction that is rolled back. A plan fails when it reads a table over the size threshold
sequentially, or when it takes longer than its budget; every plan goes into the report."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg

from healstack import registry
from healstack.health.declaration import AccessPath, HealthDeclaration
from healstack.results import CheckResult, Outcome
from healstack.rls.simulator import Identity, Simulator, service_role, tenant_user

Plan = dict[str, Any]


def nodes(plan: Plan) -> Iterator[Plan]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def render(plan: Plan, depth: int = 0) -> list[str]:
    """The plan as EXPLAIN's text would show it, one node per line with its actual rows, time and buffers."""
    label = plan["Node Type"]
    if plan.get("Index Name"):
        label += f" using {plan['Index Name']}"
    if plan.get("Relation Name"):
        label += f" on {plan.get('Schema', '')}.{plan['Relation Name']}".replace(" .", " ")
    line = (f"{'  ' * depth}-> {label} (actual rows={plan.get('Actual Rows')} loops={plan.get('Actual Loops')} "
            f"time={plan.get('Actual Total Time')} ms; buffers hit={plan.get('Shared Hit Blocks', 0)} "
            f"read={plan.get('Shared Read Blocks', 0)})")
    conditions = [f"{'  ' * depth}     {key}: {plan[key]}" for key in ("Index Cond", "Filter", "Recheck Cond")
                  if plan.get(key)]
    return [line, *conditions, *(text for child in plan.get("Plans", []) for text in render(child, depth + 1))]


def _tenant(sim: Simulator, tenant_sql: str | None) -> Identity:
    """A signed-in user of the tenant the declaration's query names (project, scope), read as service_role."""
    project, scope = "none", None
    if tenant_sql:
        with sim.transaction():
            sim.become(service_role())
            row = sim.conn.execute(tenant_sql.encode()).fetchone()
        if row and row[0] is not None:
            project, scope = str(row[0]), (str(row[1]) if len(row) > 1 and row[1] is not None else None)
    return tenant_user(project, scope)


def _table_rows(conn: psycopg.Connection[Any], schema: str, table: str) -> int:
    row = conn.execute("select greatest(c.reltuples::bigint, coalesce(s.n_live_tup, 0)) from pg_catalog.pg_class c"
                       " join pg_catalog.pg_namespace n on n.oid = c.relnamespace left join"
                       " pg_catalog.pg_stat_all_tables s on s.relid = c.oid where n.nspname = %s and c.relname = %s",
                       [schema, table]).fetchone()
    return int(row[0]) if row else 0


def _judge(conn: psycopg.Connection[Any], path: AccessPath, identity: Identity, explained: Plan,
           decl: HealthDeclaration) -> CheckResult:
    top: Plan = explained["Plan"]
    limit = decl.thresholds.seq_scan_min_rows
    scans = [(f"{n.get('Schema', 'public')}.{n['Relation Name']}",
              _table_rows(conn, n.get("Schema", "public"), n["Relation Name"]))
             for n in nodes(top) if n["Node Type"] == "Seq Scan" and n.get("Relation Name")]
    large = [(name, rows) for name, rows in scans if rows > limit]
    took = float(explained.get("Execution Time", 0.0))
    budget = path.budget_ms if path.budget_ms is not None else decl.thresholds.plan_budget_ms
    evidence = {"sql": path.sql, "run_as": path.run_as, "claims": identity.claims, "budget_ms": budget,
                "execution_ms": took, "planning_ms": explained.get("Planning Time"), "plan": render(top),
                "sequential_scans": [{"table": t, "rows": r} for t, r in scans]}
    problems = [f"reads {name} ({rows} rows) sequentially" for name, rows in large]
    if took > budget:
        problems.append(f"took {took:.1f} ms, over its {budget:g} ms budget")
    if problems:
        return CheckResult("HS815", Outcome.FAILED, path.name,
                           f"{'; '.join(problems)}; fix: {registry.spec('HS815').remedy}", evidence)
    return CheckResult("HS815", Outcome.PASSED, path.name,
                       f"{top['Node Type']} plan, {took:.1f} ms (budget {budget:g} ms)", evidence)


def access_paths(dsn: str, conn: psycopg.Connection[Any], decl: HealthDeclaration) -> list[CheckResult]:
    """Every declared path explained; ``conn`` (the checks' own connection) reads the tables' sizes."""
    if not decl.paths:
        return [CheckResult("HS815", Outcome.NOT_EVALUATED, "access paths",
                            "no access path is declared ([[access_paths.path]] in checks/health.toml)")]
    sim = Simulator(dsn)
    try:
        try:
            tenant = _tenant(sim, decl.tenant_sql)
        except psycopg.Error as e:
            return [CheckResult("HS815", Outcome.ERROR, "access paths", "the tenant query (access_paths.tenant) "
                                f"failed: {e.diag.message_primary or e}", {"sql": decl.tenant_sql})]
        results = []
        for path in decl.paths:
            identity = tenant if path.run_as == "tenant" else service_role()
            try:
                with sim.transaction():
                    sim.become(identity)
                    explained = sim.conn.execute(
                        f"explain (analyze, buffers, verbose, format json) {path.sql}".encode()).fetchall()
            except psycopg.Error as e:
                results.append(CheckResult("HS815", Outcome.ERROR, path.name,
                                           f"the query failed: {e.diag.message_primary or e}", {"sql": path.sql}))
                continue
            results.append(_judge(conn, path, identity, explained[0][0][0], decl))
        return results
    finally:
        sim.close()
