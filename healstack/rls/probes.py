"""Behaviour probes: each contract case seeds two tenants' rows, runs one request as one identity, and
judges what happened. Everything happens in a transaction that is rolled back.

Writes are sent without RETURNING, as PostgREST does by default (return=minimal): with RETURNING,
Postgres also applies the SELECT policies to the new row and would hide a permissive write policy."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from psycopg import sql

from healstack.results import CheckResult, Outcome
from healstack.rls.contract import TableContract
from healstack.rls.simulator import (
    Identity,
    Response,
    Simulator,
    Verdict,
    anon,
    anonymous_user,
    service_role,
    tenant_user,
)
from healstack.sqlfiles import query

IDENTITIES = ("tenant", "anonymous", "anon", "service_role")
TENANT_ACTIONS = ("select", "insert_own", "insert_other", "update_own", "update_other", "reassign",
                  "delete_own", "delete_other")
PLAIN_ACTIONS = ("select", "insert", "update", "delete")
SEEDED_PER_TENANT = 2
PROBE_ROW_NUMBER = 7  # the row a probe inserts; seeded rows are numbered 0-3
CHECK_ID = "HS501"


@dataclass(frozen=True)
class Case:
    table: str
    who: str
    action: str

    @property
    def id(self) -> str:
        return f"{self.table}-{self.who}-{self.action}"


def cases(contracts: dict[str, TableContract]) -> list[Case]:
    out = []
    for table, tc in sorted(contracts.items()):
        for who in IDENTITIES:
            actions = TENANT_ACTIONS if tc.tenant else PLAIN_ACTIONS
            if tc.tenant and who != "tenant":  # without a tenant of their own: probe on tenant P's rows
                actions = ("select", "insert_own", "update_own", "delete_own")
            out += [Case(table, who, action) for action in actions]
    return out


def identity_for(who: str, own: str, other: str) -> Identity:
    """The identity behind a contract name; the tenant user carries ``other`` as a forged claim."""
    return {"tenant": lambda: tenant_user(own, own, forged_project=other), "anonymous": anonymous_user,
            "anon": anon, "service_role": service_role}[who]()


class Expect(enum.StrEnum):
    """What a case must show."""

    OWN = "own"          # a select sees exactly its tenant's rows
    ALL = "all"          # a select sees every seeded row
    NONE = "none"        # a select sees nothing
    ALLOWED = "allowed"  # a write affects rows
    DENIED = "denied"    # a write is filtered or rejected


def expectation(tc: TableContract, case: Case) -> Expect:
    """What must happen to one case under the contract."""
    command = case.action.split("_")[0].replace("reassign", "update")
    if case.action == "select":
        if case.who == "service_role":
            return Expect.ALL
        if not tc.may(case.who, "select"):
            return Expect.NONE
        return Expect.OWN if tc.tenant and case.who == "tenant" else Expect.ALL
    if case.action.endswith("_other") or case.action == "reassign":
        return Expect.ALLOWED if case.who == "service_role" else Expect.DENIED
    return Expect.ALLOWED if tc.may(case.who, command) else Expect.DENIED


class Probe:
    """Runs contract cases through one simulator, with two fresh tenant names per probe run."""

    def __init__(self, sim: Simulator, contracts: dict[str, TableContract]) -> None:
        self.sim, self.contracts = sim, contracts
        token = uuid.uuid4().hex[:8]
        self.own, self.other = f"hs-probe-p-{token}", f"hs-probe-q-{token}"

    def identity(self, who: str) -> Identity:
        return identity_for(who, self.own, self.other)

    @cached_property
    def primary_keys(self) -> dict[str, tuple[str, ...]]:
        """Each public table's primary key columns, in key order."""
        rows = self.sim.conn.execute(query("healstack.rls", "primary_keys")).fetchall()
        return {name: tuple(columns) for name, columns in rows}

    def key(self, table: str) -> sql.Composable:
        """A row's primary key as one text value: the column itself, or the row of its columns."""
        columns = [sql.Identifier(c) for c in self.primary_keys[table]]
        if len(columns) == 1:
            return sql.SQL("{}::text").format(columns[0])
        return sql.SQL("row({})::text").format(sql.SQL(", ").join(columns))

    def seed(self, tc: TableContract) -> dict[str, list[str]]:
        """Insert rows for both tenants as service_role; returns primary keys (as text) per tenant."""
        self.sim.become(service_role())
        keys: dict[str, list[str]] = {self.own: [], self.other: []}
        for i, tenant in enumerate([self.own] * SEEDED_PER_TENANT + [self.other] * SEEDED_PER_TENANT):
            row = self.row(tc, tenant, n=i)
            statement = sql.SQL("insert into {} ({}) values ({}) returning {}").format(
                sql.Identifier("public", tc.table), sql.SQL(", ").join(map(sql.Identifier, row)),
                sql.SQL(", ").join(sql.Placeholder() * len(row)), self.key(tc.table))
            fetched = self.sim.conn.execute(statement, list(row.values())).fetchone()
            assert fetched is not None
            keys[tenant].append(fetched[0])
        return keys

    @staticmethod
    def row(tc: TableContract, tenant: str, n: int) -> dict[str, Any]:
        row: dict[str, Any] = tc.sample_row(n)
        if tc.tenant:
            row[tc.tenant] = tenant
        return row

    def statement(self, tc: TableContract, case: Case, keys: dict[str, list[str]]) -> tuple[sql.Composed, list[Any]]:
        table, pk = sql.Identifier("public", tc.table), self.key(tc.table)
        shown = sql.SQL("{}::text").format(sql.Identifier(tc.tenant)) if tc.tenant else pk
        verb, _, whose = case.action.partition("_")
        target_keys = keys[self.other] if whose == "other" else keys[self.own] if tc.tenant else \
            keys[self.own] + keys[self.other]
        if verb == "select":
            if case.who == "service_role":
                seeded = [self.own, self.other] if tc.tenant else target_keys
                return sql.SQL("select {} from {} where {} = any(%s)").format(shown, table, shown), [seeded]
            return sql.SQL("select {} from {} limit 1000").format(shown, table), []
        if verb == "insert":
            row = self.row(tc, self.other if whose == "other" else self.own, n=PROBE_ROW_NUMBER)
            return sql.SQL("insert into {} ({}) values ({})").format(
                table, sql.SQL(", ").join(map(sql.Identifier, row)), sql.SQL(", ").join(sql.Placeholder() * len(row)),
            ), list(row.values())
        if verb == "reassign":
            assert tc.tenant is not None
            return sql.SQL("update {} set {} = %s where {} = any(%s)").format(
                table, sql.Identifier(tc.tenant), pk), [self.other, keys[self.own]]
        if verb == "update":
            column = sql.Identifier(tc.update_column or self.primary_keys[tc.table][0])
            return sql.SQL("update {} set {} = {} where {} = any(%s)").format(
                table, column, column, pk), [target_keys]
        return sql.SQL("delete from {} where {} = any(%s)").format(table, pk), [target_keys]

    def run(self, case: Case) -> CheckResult:
        tc = self.contracts[case.table]
        where = f"public.{case.table}"
        if not self.primary_keys.get(case.table):
            return CheckResult(CHECK_ID, Outcome.NOT_EVALUATED, where,
                               f"{case.who} {case.action}: probes need a primary key")
        want = expectation(tc, case)
        with self.sim.transaction():
            keys = self.seed(tc)
            statement, params = self.statement(tc, case, keys)
            response = self.sim.attempt(self.identity(case.who), statement, params)
        return self.judge(case, want, response, where)

    def judge(self, case: Case, want: Expect, response: Response, where: str) -> CheckResult:
        head = f"{case.table}: {case.who} {case.action.replace('_', ' ')}"
        evidence = {"table": case.table, "identity": case.who, "command": case.action, "expected": want.value,
                    "verdict": response.verdict.value, "rows": len(response.rows)}
        if response.verdict is Verdict.ERROR:
            return CheckResult(CHECK_ID, Outcome.ERROR, where, f"{head}: could not run: {response.message}", evidence)
        values = [r[0] for r in response.rows]
        problem = self._problem(want, response, values)
        if problem:
            return CheckResult(CHECK_ID, Outcome.FAILED, where, f"{head}: {problem}", evidence)
        observed = response.verdict.value if response.verdict is not Verdict.ALLOWED else f"{response.affected} rows"
        return CheckResult(CHECK_ID, Outcome.PASSED, where, f"{head}: {want.value} as contracted ({observed})",
                           evidence)

    def _problem(self, want: Expect, response: Response, values: list[Any]) -> str | None:
        if want is Expect.OWN:
            strangers = [v for v in values if v != self.own]
            if strangers:
                return f"sees {len(strangers)} rows of other tenants (e.g. {strangers[0]!r})"
            if values.count(self.own) < SEEDED_PER_TENANT:
                return f"does not see its own rows ({response.verdict.value})"
        elif want is Expect.NONE and values:
            return f"sees {len(values)} rows it should not (e.g. {values[0]!r})"
        elif want is Expect.ALL and len(values) < 2 * SEEDED_PER_TENANT:
            return f"sees {len(values)} of the {2 * SEEDED_PER_TENANT} seeded rows ({response.verdict.value})"
        elif want is Expect.ALLOWED and response.verdict is not Verdict.ALLOWED:
            return f"expected to be allowed, was {response.verdict.value} {response.message}".rstrip()
        elif want is Expect.DENIED and not response.verdict.denied:
            return f"expected to be denied, affected {response.affected} rows"
        return None
