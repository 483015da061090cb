"""Leak probes: views and SECURITY DEFINER functions the API roles can reach, queried as each identity
with two tenants' rows seeded; a row carrying the other tenant is a leak."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from healstack.results import CheckResult, Outcome
from healstack.rls.probes import Probe
from healstack.rls.seeding import SeedError
from healstack.rls.simulator import Verdict
from healstack.sqlfiles import query

CHECK_ID = "HS502"
LEAK_IDENTITIES = ("tenant", "anonymous", "anon")



@dataclass(frozen=True)
class Exposed:
    kind: str
    schema: str
    name: str
    arguments: str | None

    @property
    def label(self) -> str:
        return f"{self.schema}.{self.name}" + (f"({self.arguments})" if self.kind == "function" else "")


def exposed_objects(conn: psycopg.Connection[Any]) -> list[Exposed]:
    return [Exposed(*row) for row in conn.execute(query("healstack.rls", "exposed")).fetchall()]


def probe_leak(probe: Probe, obj: Exposed, who: str) -> CheckResult:
    if obj.kind == "function" and obj.arguments:
        return CheckResult(CHECK_ID, Outcome.NOT_EVALUATED, obj.label,
                           f"{who}: a SECURITY DEFINER function with arguments needs a probe written by hand")
    target = sql.Identifier(obj.schema, obj.name)
    statement = sql.SQL("select t::text from {} as t" if obj.kind == "relation" else "select t::text from {}() as t")
    seeded = [tc for tc in probe.contracts.values()
              if tc.tenant and probe.primary_keys.get(tc.table) and tc.table not in probe.unseedable]
    own = {probe.values(tc)[0] for tc in seeded}
    other = {probe.values(tc)[1] for tc in seeded}
    with probe.sim.transaction():
        for tc in seeded:
            try:
                probe.seed(tc)
            except SeedError as e:  # judged without this table's rows; its own cases say why
                probe.unseedable[tc.table] = f"not evaluated: {e}"
        response = probe.sim.attempt(probe.identity(who), statement.format(target))
    strangers = [r[0] for r in response.rows
                 if any(v in r[0] for v in other) or (who != "tenant" and any(v in r[0] for v in own))]
    evidence = {"object": obj.label, "identity": who, "rows": len(response.rows), "verdict": response.verdict.value}
    if response.verdict is Verdict.ERROR:
        return CheckResult(CHECK_ID, Outcome.ERROR, obj.label, f"{who}: could not query: {response.message}", evidence)
    if strangers:
        return CheckResult(CHECK_ID, Outcome.FAILED, obj.label,
                           f"{who} reads {len(strangers)} rows of another tenant through {obj.kind} {obj.label}",
                           {**evidence, "sample": strangers[0][:200]})
    return CheckResult(CHECK_ID, Outcome.PASSED, obj.label, f"{who}: no row of another tenant", evidence)
