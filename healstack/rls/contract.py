"""The RLS contract file: one entry per table saying who may select, insert, update and delete."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from healstack.declarations import read_toml
from healstack.errors import ConfigError

COMMANDS = ("select", "insert", "update", "delete")
WHO = frozenset({"tenant", "anonymous", "anon"})
_KEYS = frozenset({"tenant", "claim", "immutable", "update_column", "sample", *COMMANDS})


@dataclass(frozen=True)
class TableContract:
    table: str
    tenant: str | None
    claim: str | None
    allowed: dict[str, frozenset[str]]
    immutable: bool
    update_column: str | None
    sample: dict[str, str]

    def may(self, who: str, command: str) -> bool:
        """Whether ``who`` (tenant, anonymous, anon, service_role) may run ``command`` here."""
        if who == "service_role":
            return True
        if self.immutable and command in ("update", "delete"):
            return False
        return who in self.allowed[command]

    def sample_row(self, n: int) -> dict[str, str]:
        return {column: value.format(n=n) for column, value in self.sample.items()}


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
    tenant = raw.get("tenant")
    if tenant is None and any("tenant" in allowed[c] for c in COMMANDS):
        raise ConfigError(f"{where}: [{table}] grants \"tenant\" access but names no tenant column")
    if tenant is None and not raw.get("update_column"):
        raise ConfigError(f"{where}: [{table}] has no tenant column, so it needs update_column: the column an "
                          "update probe sets")
    return TableContract(table=table, tenant=tenant, claim=raw.get("claim", tenant) if tenant else None,
                         allowed=allowed, immutable=bool(raw.get("immutable", False)),
                         update_column=raw.get("update_column", tenant), sample=sample)


def load_contract(path: Path) -> dict[str, TableContract]:
    """Table name -> contract; a malformed file is one clear error naming the entry."""
    if not path.exists():
        raise ConfigError(f"RLS contract not found: {path}")
    data = read_toml(path)
    for table, raw in data.items():
        if not isinstance(raw, dict):
            raise ConfigError(f"{path.name}: {table} must be a table ([{table}]), not a {type(raw).__name__}")
    return {table: _entry(table, raw, path.name) for table, raw in data.items()}
