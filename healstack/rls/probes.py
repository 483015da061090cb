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

import psycopg
from psycopg import sql

from healstack.results import CheckResult, Outcome
from healstack.rls.contract import TableContract
from healstack.rls.identities import identity_for
from healstack.rls.seeding import Seeder, SeedError, tenant_values
from healstack.rls.simulator import (
    Identity,
    Response,
    Simulator,
    Verdict,
    service_role,
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
        return f"{self.table.removeprefix('public.')}-{self.who}-{self.action}"


def cases(contracts: dict[str, TableContract]) -> list[Case]:
    out = []
    for table, tc in sorted(contracts.items()):
        for who in IDENTITIES:
            actions = TENANT_ACTIONS if tc.tenant else PLAIN_ACTIONS
            if tc.tenant and who != "tenant":  # without a tenant of their own: probe on tenant P's rows
                actions = ("select", "insert_own", "update_own", "delete_own")
            out += [Case(table, who, action) for action in actions]
    return out


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
        return Expect.OWN if tc.tenant and case.who == "tenant" and not tc.reaches_all("select") else Expect.ALL
    if case.action.endswith("_other") or case.action == "reassign":
        everyone = case.who == "tenant" and tc.reaches_all(command)
        return Expect.ALLOWED if case.who == "service_role" or everyone else Expect.DENIED
    return Expect.ALLOWED if tc.may(case.who, command) else Expect.DENIED


class Probe:
    """Runs contract cases through one simulator, with fresh tenants and users per probe run."""

    def __init__(self, sim: Simulator, contracts: dict[str, TableContract]) -> None:
        self.sim, self.contracts = sim, contracts
        self.token = uuid.uuid4().hex[:8]
        self.seeder = Seeder(sim.conn, self.token)
        self.unseedable: dict[str, str] = {}  # table -> why its rows cannot be created
        self._service_inserts: dict[str, bool] = {}

    def values(self, tc: TableContract) -> tuple[str, str]:
        """The two tenants of a table, P (the probe's own) and Q: the probe users' ids where rows are owned
        by users, else values of the tenant column's type."""
        if tc.owned:
            return self.seeder.own_user, self.seeder.other_user
        return tenant_values(self.seeder.column(tc.table, tc.tenant), self.token)

    def identity(self, who: str, tc: TableContract | None = None) -> Identity:
        """The identity behind a contract name: the signed-in user is probe user P, with the tenant claim of
        ``tc`` (of every contracted table when None) set to P."""
        tables = [tc] if tc else list(self.contracts.values())
        return identity_for(who, self.seeder.own_user, [(t, *self.values(t)) for t in tables])

    @cached_property
    def primary_keys(self) -> dict[str, tuple[str, ...]]:
        """Each table's primary key columns, in key order."""
        rows = self.sim.conn.execute(query("healstack.rls", "primary_keys")).fetchall()
        return {name: tuple(columns) for name, columns in rows}

    def key(self, table: str) -> sql.Composable:
        """A row's primary key as one text value: the column itself, or the row of its columns."""
        columns = [sql.Identifier(c) for c in self.primary_keys[table]]
        if len(columns) == 1:
            return sql.SQL("{}::text").format(columns[0])
        return sql.SQL("row({})::text").format(sql.SQL(", ").join(columns))

    def per_tenant(self, tc: TableContract) -> int:
        """Rows seeded per tenant: one where the tenant column is unique (a profile per user), else two."""
        column = self.seeder.column(tc.table, tc.tenant)
        return 1 if column is not None and column.is_unique else SEEDED_PER_TENANT

    def seed(self, tc: TableContract) -> dict[str, list[str]]:
        """Rows for both tenants in one INSERT (as service_role where it may insert, as PostgREST's backend
        would), with the users and parent rows they need, then the membership rows; returns primary keys (as
        text) per tenant. A row a trigger already made (a profile made when its user signed up) counts."""
        own, other = self.values(tc)
        n = self.per_tenant(tc)
        tenants = [own] * n + [other] * n
        rows = [self.full_row(tc, tenant, n=i) for i, tenant in enumerate(tenants)]
        self._as_inserter(tc)
        owner = sql.SQL("{}::text").format(sql.Identifier(tc.tenant)) if tc.tenant else self.key(tc.table)
        one = sql.SQL("({})").format(sql.SQL(", ").join(sql.Placeholder() * len(rows[0])))
        statement = sql.SQL("insert into {} ({}) values {} on conflict do nothing returning {}, {}").format(
            tc.ident, sql.SQL(", ").join(map(sql.Identifier, rows[0])), sql.SQL(", ").join([one] * len(rows)),
            self.key(tc.table), owner)
        try:
            with self.sim.conn.transaction():
                fetched = self.sim.conn.execute(statement, [v for row in rows for v in row.values()]).fetchall()
                if tc.tenant and n == 1 and len(fetched) < len(rows):  # made by a trigger already
                    fetched = self.sim.conn.execute(sql.SQL("select {}, {} from {} where {} = any(%s)").format(
                        self.key(tc.table), owner, tc.ident, owner), [[own, other]]).fetchall()
        except psycopg.Error as e:
            raise SeedError(f"could not seed {tc.table}: {e.diag.message_primary or e}") from None
        if len(fetched) < len(rows):
            raise SeedError(f"could not seed {tc.table}: a row with the same key exists")
        keys: dict[str, list[str]] = {own: [], other: []}
        for i, (key, tenant) in enumerate(fetched):  # a table without tenants: the first half is P's
            keys[tenant if tc.tenant else tenants[i]].append(key)
        if tc.member:
            self.seeder.as_owner()
            for i, (tenant, user) in enumerate(((own, self.seeder.own_user), (other, self.seeder.other_user))):
                self.seeder.insert(tc.member.table, self.seeder.complete(
                    tc.member.table, {tc.member.tenant: tenant, tc.member.user: user}, n=50 + i), conflict_free=True)
        return keys

    def _as_inserter(self, tc: TableContract) -> None:
        """service_role where it may insert into the table (asked once per table), else the owner."""
        if tc.table not in self._service_inserts:
            allowed = self.sim.conn.execute(
                "select pg_catalog.has_table_privilege('service_role', pg_catalog.format('%%I.%%I', %s::text, "
                "%s::text)::regclass, 'INSERT')", [tc.schema, tc.name]).fetchone()
            self._service_inserts[tc.table] = bool(allowed and allowed[0])
        if self._service_inserts[tc.table]:
            self.sim.become(service_role())
        else:
            self.seeder.as_owner()

    def full_row(self, tc: TableContract, tenant: str, n: int) -> dict[str, Any]:
        """A row of the tenant with every value it needs, its parent rows created."""
        return self.seeder.complete(tc.table, self.row(tc, tenant, n), n)

    @staticmethod
    def row(tc: TableContract, tenant: str, n: int) -> dict[str, Any]:
        row: dict[str, Any] = tc.sample_row(n)
        if tc.tenant:
            row[tc.tenant] = tenant
        return row

    def statement(self, tc: TableContract, case: Case, keys: dict[str, list[str]]) -> tuple[sql.Composed, list[Any]]:
        table, pk = tc.ident, self.key(tc.table)
        own, other = self.values(tc)
        shown = sql.SQL("{}::text").format(sql.Identifier(tc.tenant)) if tc.tenant else pk
        verb, _, whose = case.action.partition("_")
        target_keys = keys[other] if whose == "other" else keys[own] if tc.tenant else keys[own] + keys[other]
        if verb == "select":
            if case.who == "service_role":
                seeded = [own, other] if tc.tenant else target_keys
                return sql.SQL("select {} from {} where {} = any(%s)").format(shown, table, shown), [seeded]
            return sql.SQL("select {} from {} limit 1000").format(shown, table), []
        if verb == "insert":
            tenant = other if whose == "other" else own
            row = self.full_row(tc, tenant, n=PROBE_ROW_NUMBER)
            if tc.tenant and self.per_tenant(tc) == 1:  # one row per tenant: make room, as for a new user
                self.seeder.as_owner()
                try:
                    with self.sim.conn.transaction():
                        self.sim.conn.execute(sql.SQL("delete from {} where {}::text = %s").format(
                            table, sql.Identifier(tc.tenant)), [tenant])
                except psycopg.Error as e:
                    raise SeedError(f"could not make room for a new row in {tc.table}: "
                                    f"{e.diag.message_primary or e}") from None
            return sql.SQL("insert into {} ({}) values ({})").format(
                table, sql.SQL(", ").join(map(sql.Identifier, row)), sql.SQL(", ").join(sql.Placeholder() * len(row)),
            ), list(row.values())
        if verb == "reassign":
            assert tc.tenant is not None
            return sql.SQL("update {} set {} = %s where {} = any(%s)").format(
                table, sql.Identifier(tc.tenant), pk), [other, keys[own]]
        if verb == "update":
            column = sql.Identifier(tc.update_column or self.primary_keys[tc.table][0])
            return sql.SQL("update {} set {} = {} where {} = any(%s)").format(
                table, column, column, pk), [target_keys]
        return sql.SQL("delete from {} where {} = any(%s)").format(table, pk), [target_keys]

    def run(self, case: Case) -> CheckResult:
        tc = self.contracts[case.table]
        where = tc.table
        if not self.primary_keys.get(case.table):
            return CheckResult(CHECK_ID, Outcome.NOT_EVALUATED, where,
                               f"{case.who} {case.action}: probes need a primary key")
        if case.table in self.unseedable:
            return CheckResult(CHECK_ID, Outcome.NOT_EVALUATED, where,
                               f"{case.who} {case.action}: {self.unseedable[case.table]}")
        want = expectation(tc, case)
        try:
            with self.sim.transaction():
                keys = self.seed(tc)
                statement, params = self.statement(tc, case, keys)
                response = self.sim.attempt(self.identity(case.who, tc), statement, params)
        except SeedError as e:
            self.unseedable[case.table] = f"not evaluated: {e}"
            return CheckResult(CHECK_ID, Outcome.NOT_EVALUATED, where, f"{case.who} {case.action}: not evaluated: {e}")
        return self.judge(case, want, response, where, self.values(tc)[0])

    def judge(self, case: Case, want: Expect, response: Response, where: str, own: str) -> CheckResult:
        label = self.contracts[case.table].label
        head = f"{label}: {case.who} {case.action.replace('_', ' ')}"
        evidence = {"table": label, "identity": case.who, "command": case.action, "expected": want.value,
                    "verdict": response.verdict.value, "rows": len(response.rows)}
        if response.verdict is Verdict.ERROR:
            return CheckResult(CHECK_ID, Outcome.ERROR, where, f"{head}: could not run: {response.message}", evidence)
        values = [r[0] for r in response.rows]
        problem = self._problem(want, response, values, own, self.per_tenant(self.contracts[case.table]))
        if problem:
            return CheckResult(CHECK_ID, Outcome.FAILED, where, f"{head}: {problem}", evidence)
        observed = response.verdict.value if response.verdict is not Verdict.ALLOWED else f"{response.affected} rows"
        return CheckResult(CHECK_ID, Outcome.PASSED, where, f"{head}: {want.value} as contracted ({observed})",
                           evidence)

    @staticmethod
    def _problem(want: Expect, response: Response, values: list[Any], own: str, seeded: int) -> str | None:
        if want is Expect.OWN:
            strangers = [v for v in values if v != own]
            if strangers:
                return f"sees {len(strangers)} rows of other tenants (e.g. {strangers[0]!r})"
            if values.count(own) < seeded:
                return f"does not see its own rows ({response.verdict.value})"
        elif want is Expect.NONE and values:
            return f"sees {len(values)} rows it should not (e.g. {values[0]!r})"
        elif want is Expect.ALL and len(values) < 2 * seeded:
            return f"sees {len(values)} of the {2 * seeded} seeded rows ({response.verdict.value})"
        elif want is Expect.ALLOWED and response.verdict is not Verdict.ALLOWED:
            return f"expected to be allowed, was {response.verdict.value} {response.message}".rstrip()
        elif want is Expect.DENIED and not response.verdict.denied:
            return f"expected to be denied, affected {response.affected} rows"
        return None
