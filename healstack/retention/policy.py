"""The retention policy (checks/retention.toml): per table, how many days its rows are kept (days in the stack's
time zone, counted back from the start of today) and which rows are kept longer. A row a keep-rule's condition
cannot judge (its column is NULL) is kept as the rule says: when in doubt, keep. An unknown key or a value of the
wrong type is one line naming it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psycopg import sql

from healstack.declarations import read_toml
from healstack.errors import ConfigError

_OPS = {"equals": "=", "above": ">", "below": "<"}


@dataclass(frozen=True)
class Keep:
    """Rows where ``column <op> value`` (or NULL there) are kept ``days`` instead, or while they match."""

    column: str
    op: str                  # "equals", "above" or "below"
    value: Any
    days: int | None         # None: kept as long as the condition holds (e.g. a pending approval)

    def describe(self) -> str:
        span = f"{self.days} days" if self.days is not None else "while it holds"
        return f"{self.column} {_OPS[self.op]} {json.dumps(self.value)}: {span}"


@dataclass(frozen=True)
class TablePolicy:
    table: str               # schema.name
    age_column: str
    days: int
    keep: list[Keep] = field(default_factory=list)

    @property
    def schema_table(self) -> tuple[str, str]:
        schema, _, name = self.table.rpartition(".")
        return schema or "public", name


@dataclass(frozen=True)
class RetentionPolicy:
    tables: list[TablePolicy] = field(default_factory=list)
    backup_tables: list[str] = field(default_factory=list)   # what `healstack backup` copies
    keep_backups: int = 7
    grace_days: int = 7               # HS816: rows overdue by more than this fail
    backup_max_age_days: int = 8      # HS817: the last verified backup may be this old


def _int(raw: dict[str, Any], key: str, where: str, default: int | None = None, minimum: int = 0) -> int:
    value = raw.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ConfigError(f"{where}: {key} must be a whole number >= {minimum}, not {value!r}")
    return value


def _name(raw: dict[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: {key} must be a name, not {value!r}")
    return value


def _keep(raw: dict[str, Any], where: str) -> Keep:
    unknown = set(raw) - {"column", "days", *_OPS}
    ops = [op for op in _OPS if op in raw]
    if unknown or len(ops) != 1:
        raise ConfigError(f"{where}: a keep rule has column, one of {', '.join(_OPS)} and days (or none: kept "
                          f"while it holds){'; unknown: ' + ', '.join(sorted(unknown)) if unknown else ''}")
    days = _int(raw, "days", where, minimum=1) if "days" in raw else None
    return Keep(_name(raw, "column", where), ops[0], raw[ops[0]], days)


def _table(raw: dict[str, Any], where: str) -> TablePolicy:
    unknown = set(raw) - {"name", "age_column", "days", "keep"}
    if unknown:
        raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    name = _name(raw, "name", where)
    where = f"{where} ({name})"
    keeps = raw.get("keep", [])
    if not isinstance(keeps, list):
        raise ConfigError(f"{where}: keep must be a list of [[table.keep]] entries")
    return TablePolicy(name if "." in name else f"public.{name}", _name(raw, "age_column", where),
                       _int(raw, "days", where, minimum=1), [_keep(k, where) for k in keeps])


def load_policy(path: Path) -> RetentionPolicy:
    raw = read_toml(path)
    where = path.name
    unknown = set(raw) - {"table", "backup", "grace_days", "backup_max_age_days"}
    if unknown:
        raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    backup = raw.get("backup", {})
    tables = backup.get("tables", [])
    if not isinstance(tables, list) or not all(isinstance(t, str) for t in tables):
        raise ConfigError(f"{where}: backup.tables must be a list of table names")
    return RetentionPolicy(
        [_table(t, f"{where} table {i + 1}") for i, t in enumerate(raw.get("table", []))],
        [t if "." in t else f"public.{t}" for t in tables],
        _int(backup, "keep", f"{where} backup", 7, minimum=1),
        _int(raw, "grace_days", where, 7), _int(raw, "backup_max_age_days", where, 8, minimum=1))


def cutoff(days: int, timezone: str, params: list[Any]) -> sql.Composable:
    """The start of the day ``days`` days before today, in ``timezone`` (exact across daylight saving)."""
    params += [timezone, days, timezone]
    return sql.SQL("(((now() at time zone %s)::date - %s::int)::timestamp at time zone %s)")


def due(policy: TablePolicy, timezone: str, params: list[Any], extra_days: int = 0) -> sql.Composable:
    """Rows past their retention (by ``extra_days`` more, for the overdue check): older than the table's days and
    not kept longer by a keep rule. A NULL the rule cannot judge keeps the row."""
    age = sql.Identifier(policy.age_column)
    parts = [sql.SQL("{} < {}").format(age, cutoff(policy.days + extra_days, timezone, params))]
    for keep in policy.keep:
        params.append(keep.value)
        held = sql.SQL("({} {} %s) is not false").format(sql.Identifier(keep.column), sql.SQL(_OPS[keep.op]))
        if keep.days is None:
            parts.append(sql.SQL("not {}").format(held))
        else:
            parts.append(sql.SQL("not ({} and {} >= {})").format(
                held, age, cutoff(keep.days + extra_days, timezone, params)))
    return sql.SQL(" and ").join(parts)
