"""The RLS contract file: one entry per table saying who may select, insert, update and delete.

A table is named as the API names it: ``events`` is ``public.events``, ``"teams.accounts"`` a table of another
exposed schema. Its rows belong to someone in one of three ways:

- ``tenant = "project"``: the column must equal a JWT claim (``claim``, a dotted path from the JWT's root,
  default ``app_metadata.<column>``), as a policy reading ``auth.jwt() -> 'app_metadata' ->> 'project'`` does;
- ``owner = "user_id"``: the column must equal ``auth.uid()``, the JWT's ``sub`` (a uuid, usually a foreign key
  to ``auth.users``);
- ``tenant`` with ``member = { table = "teams.members", tenant = "team_id", user = "user_id" }``: the signed-in
  user may reach a tenant's rows when the membership table holds a row for that tenant and user.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psycopg import sql

from healstack.declarations import read_toml
from healstack.errors import ConfigError

COMMANDS = ("select", "insert", "update", "delete")
WHO = frozenset({"tenant", "authenticated", "anonymous", "anon"})
_KEYS = frozenset({"tenant", "owner", "claim", "member", "immutable", "update_column", "sample", *COMMANDS})
OWNER_CLAIM = "sub"


def qualified(table: str) -> str:
    """``events`` -> ``public.events``; a name with a schema stays as written."""
    return table if "." in table else f"public.{table}"


@dataclass(frozen=True)
class Membership:
    """The table that says which user belongs to which tenant."""

    table: str   # schema-qualified
    tenant: str  # its column holding the tenant
    user: str    # its column holding the user's id (auth.uid())

    @property
    def ident(self) -> sql.Identifier:
        return sql.Identifier(*self.table.split(".", 1))


@dataclass(frozen=True)
class TableContract:
    table: str  # schema-qualified
    tenant: str | None
    claim: str | None  # dotted JWT path, "sub" for an owner column
    allowed: dict[str, frozenset[str]]
    immutable: bool
    update_column: str | None
    sample: dict[str, str]
    member: Membership | None = None

    @property
    def schema(self) -> str:
        return self.table.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.table.split(".", 1)[1]

    @property
    def label(self) -> str:
        """The name as the contract writes it: ``events``, ``teams.accounts``."""
        return self.name if self.schema == "public" else self.table

    @property
    def ident(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)

    @property
    def owned(self) -> bool:
        """Rows belong to the signed-in user themself (the tenant value is their id)."""
        return self.claim == OWNER_CLAIM and self.member is None

    def may(self, who: str, command: str) -> bool:
        """Whether ``who`` (tenant, anonymous, anon, service_role) may run ``command`` here."""
        if who == "service_role":
            return True
        if self.immutable and command in ("update", "delete"):
            return False
        return who in self.allowed[command] or (who == "tenant" and "authenticated" in self.allowed[command])

    def reaches_all(self, command: str) -> bool:
        """Whether a signed-in user may run ``command`` on every tenant's rows ("authenticated")."""
        return "authenticated" in self.allowed[command] and not (self.immutable and command in ("update", "delete"))

    def sample_row(self, n: int) -> dict[str, str]:
        return {column: value.format(n=n) for column, value in self.sample.items()}


def _membership(raw: object, table: str, where: str) -> Membership | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) != {"table", "tenant", "user"} or \
            not all(isinstance(v, str) for v in raw.values()):
        raise ConfigError(f"{where}: [{table}] member must be {{ table = \"schema.members\", tenant = \"column\", "
                          "user = \"column\" }")
    return Membership(qualified(raw["table"]), raw["tenant"], raw["user"])


def _entry(table: str, raw: dict[str, Any], where: str) -> TableContract:
    unknown = set(raw) - _KEYS
    if unknown:
        raise ConfigError(f"{where}: [{table}] has unknown keys {', '.join(sorted(unknown))}")
    allowed = {}
    for command in COMMANDS:
        who = raw.get(command, [])
        if not isinstance(who, list) or not set(who) <= WHO:
            raise ConfigError(f"{where}: [{table}] {command} must list some of {', '.join(sorted(WHO))}")
        allowed[command] = frozenset(who)
    sample = raw.get("sample", {})
    if not isinstance(sample, dict) or not all(isinstance(v, str) for v in sample.values()):
        raise ConfigError(f"{where}: [{table}] sample must map columns to strings")
    if raw.get("owner") and raw.get("tenant"):
        raise ConfigError(f"{where}: [{table}] names both owner and tenant: rows belong to a user (owner) or to a "
                          "tenant, not both")
    member = _membership(raw.get("member"), table, where)
    tenant = raw.get("owner") or raw.get("tenant")
    if member and not raw.get("tenant"):
        raise ConfigError(f"{where}: [{table}] member needs tenant: the column holding the tenant members belong to")
    if tenant is None and any("tenant" in allowed[c] for c in COMMANDS):
        raise ConfigError(f"{where}: [{table}] grants \"tenant\" access but names no tenant or owner column")
    if tenant is None and not raw.get("update_column"):
        raise ConfigError(f"{where}: [{table}] has no tenant column, so it needs update_column: the column an "
                          "update probe sets")
    claim = OWNER_CLAIM if raw.get("owner") or member else raw.get("claim", f"app_metadata.{tenant}")
    if not isinstance(claim, str) or not claim or "" in claim.split("."):
        raise ConfigError(f"{where}: [{table}] claim must be a dotted path in the JWT, e.g. app_metadata.team_id")
    return TableContract(table=qualified(table), tenant=tenant, claim=claim if tenant else None,
                         allowed=allowed, immutable=bool(raw.get("immutable", False)),
                         update_column=raw.get("update_column", tenant), sample=sample, member=member)


def _tables(data: dict[str, Any], where: str) -> list[tuple[str, dict[str, Any]]]:
    """Each entry with its name; ``[teams.accounts]`` written without quotes is TOML for a table ``accounts``
    inside ``teams``, which is read as the schema-qualified name it means."""
    out = []
    for table, raw in data.items():
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: {table} must be a table ([{table}]), not a {type(raw).__name__}")
        if raw and not set(raw) & _KEYS and all(isinstance(v, dict) for v in raw.values()):
            out += [(f"{table}.{name}", inner) for name, inner in raw.items()]
        else:
            out.append((table, raw))
    return out


def load_contract(path: Path) -> dict[str, TableContract]:
    """Schema-qualified table name -> contract; a malformed file is one clear error naming the entry."""
    if not path.exists():
        raise ConfigError(f"RLS contract not found: {path}")
    entries = [_entry(table, raw, path.name) for table, raw in _tables(read_toml(path), path.name)]
    return {tc.table: tc for tc in entries}
