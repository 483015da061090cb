"""`healstack rls scaffold`: a starting RLS contract read from the live policies and grants.

Each table the API can reach gets an entry saying what its permissive policies and grants admit now, for each
command: "anon" where anon is granted and a policy admits every row (or RLS is off), "authenticated" and
"anonymous" for the same through the authenticated role (anonymous sign-ins carry it too), "tenant" where a
policy admits the user's own rows (see healstack.rls.infer). What could not be read is written as a comment
above the entry, for a person to decide: the scaffold states what the database does, not what it should do.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import dict_row

from healstack.rls.contract import COMMANDS
from healstack.rls.infer import Ownership, infer
from healstack.sqlfiles import query

_COMMANDS = {"r": "select", "a": "insert", "w": "update", "d": "delete", "*": "all"}


@dataclass(frozen=True)
class Policy:
    table: str
    name: str
    permissive: bool
    command: str
    roles: list[str]
    using_expression: str | None
    check_expression: str | None

    def expression(self, command: str) -> str | None:
        """What a row must satisfy for ``command``: an insert's check, else the USING expression."""
        return (self.check_expression or self.using_expression) if command == "insert" else self.using_expression


@dataclass
class Entry:
    table: str
    allowed: dict[str, set[str]] = field(default_factory=lambda: {c: set() for c in COMMANDS})
    ownership: Ownership | None = None
    notes: list[str] = field(default_factory=list)
    update_column: str | None = None


def _admit(entry: Entry, command: str, role: str, policies: list[Policy]) -> None:
    for policy in policies:
        if policy.command not in (command, "all") or not {role, "public"} & set(policy.roles):
            continue
        if not policy.permissive:
            entry.notes.append(f"restrictive policy {policy.name!r} narrows {command} further; check the cases")
            continue
        expression = policy.expression(command)
        found = infer(expression)
        if found is None:
            shown = " ".join(str(expression).split())  # one comment line: Postgres prints sub-selects on several
            entry.notes.append(f"could not infer whose rows {command} policy {policy.name!r} admits for {role}: "
                               f"{shown}")
        elif found.kind == "all":
            entry.allowed[command] |= {"anon"} if role == "anon" else {"authenticated", "anonymous"}
        elif role == "authenticated":
            if entry.ownership and (entry.ownership.kind, entry.ownership.column) != (found.kind, found.column):
                entry.notes.append(f"policy {policy.name!r} reads ownership differently ({found.kind} "
                                   f"{found.column}) from the entry's ({entry.ownership.kind} "
                                   f"{entry.ownership.column})")
                continue
            entry.ownership = entry.ownership or found
            entry.allowed[command].add("tenant")


def entries(conn: psycopg.Connection[Any]) -> list[Entry]:
    """One entry per table the API can reach, from its grants and permissive policies."""
    policies: dict[str, list[Policy]] = defaultdict(list)
    with conn.cursor(row_factory=dict_row) as cur:  # the catalog snapshot's own query (parity reads it too)
        for p in cur.execute(query("healstack.catalog", "policies")):
            table = f"{p['schema']}.{p['relation']}"
            policies[table].append(Policy(table, p["name"], p["permissive"], _COMMANDS[p["command"]], p["roles"],
                                          p["using_expr"], p["with_check_expr"]))
    keys = {name: columns for name, columns in conn.execute(query("healstack.rls", "primary_keys"))}
    out = []
    for table, columns, rls, grants in conn.execute(query("healstack.rls", "tables")):
        entry = Entry(table)
        for command in COMMANDS:
            for role in ("anon", "authenticated"):
                if f"{role}:{command}" not in grants:
                    continue
                if not rls:
                    entry.allowed[command] |= {"anon"} if role == "anon" else {"authenticated", "anonymous"}
                else:
                    _admit(entry, command, role, policies[table])
            if "authenticated" in entry.allowed[command]:
                entry.allowed[command].discard("tenant")
        if rls and not policies[table]:
            entry.notes.append("RLS is on and no policy admits anything: only service_role reaches the rows")
        if entry.ownership is None:
            key = keys.get(table, [])
            entry.update_column = next((c for c in columns if c not in key), key[0] if key else columns[0])
        out.append(entry)
    return out


def _string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a TOML basic string


def render(found: list[Entry], source: str) -> str:
    """The contract file's text."""
    lines = [f"# RLS contract written by `healstack rls scaffold` from the policies and grants of {source}.",
             "# It states what the database does now; review each entry (and every comment) before trusting it.",
             "# Keys: README, \"RLS contract\"."]
    for entry in found:
        name = entry.table.removeprefix("public.")
        lines += ["", f"[{name if '.' not in name else _string(name)}]"]
        lines += [f"# healstack: {note}" for note in dict.fromkeys(entry.notes)]
        own = entry.ownership
        if own and own.kind == "owner" and own.column:
            lines.append(f"owner = {_string(own.column)}")
        elif own and own.kind == "claim" and own.column and own.claim:
            lines += [f"tenant = {_string(own.column)}", f"claim = {_string(own.claim)}"]
        elif own and own.kind == "member" and own.column:
            lines += [f"tenant = {_string(own.column)}",
                      f"member = {{ table = {_string(own.member_table or '')}, tenant = "
                      f"{_string(own.member_tenant or '')}, user = {_string(own.member_user or '')} }}"]
        if entry.update_column:
            lines.append(f"update_column = {_string(entry.update_column)}")
        for command in COMMANDS:
            if entry.allowed[command]:
                lines.append(f"{command} = [{', '.join(_string(w) for w in sorted(entry.allowed[command]))}]")
    return "\n".join(lines) + "\n"
