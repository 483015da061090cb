"""Data-quality rules as declared: common rules in one TOML file per table, custom rules as .sql files.

A rule finds the rows you do not want (dbt's idiom). Every rule keeps where it was declared
(file:line) so a failure points at its declaration.
"""

from __future__ import annotations

import enum
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from healstack.declarations import read_text
from healstack.errors import ConfigError
from healstack.results import Severity


class RuleType(enum.StrEnum):
    NOT_NULL = "not_null"
    ACCEPTED_VALUES = "accepted_values"
    RANGE = "range"
    REGEX = "regex"
    FRESHNESS = "freshness"
    FUTURE_DATES = "future_dates"
    ROW_COUNT = "row_count"
    UNIQUE = "unique"
    REFERENTIAL = "referential"
    CONSISTENCY = "consistency"
    ROW_COUNT_ANOMALY = "row_count_anomaly"
    CUSTOM = "custom"


# Rules checked in the table's single aggregate scan; the others run as their own queries.
ROW_LEVEL = frozenset({RuleType.NOT_NULL, RuleType.ACCEPTED_VALUES, RuleType.RANGE, RuleType.REGEX,
                       RuleType.FRESHNESS, RuleType.FUTURE_DATES, RuleType.ROW_COUNT})
OWN_QUERY = frozenset(RuleType) - ROW_LEVEL
REQUIRED: dict[str, tuple[str, ...]] = {
    "not_null": ("column",), "accepted_values": ("column", "values"), "range": ("column",),
    "regex": ("column", "pattern"), "freshness": ("column", "max_age_hours"), "future_dates": ("column",),
    "row_count": (), "unique": ("columns",), "referential": ("column", "to", "to_column"),
    "consistency": ("key", "column", "to", "to_key", "to_column"), "row_count_anomaly": ("column",),
    "custom": ("sql",),
}
COMMON = frozenset({"id", "type", "severity", "owner", "description", "max_violations", "max_ratio",
                    "window_column", "window_days", "incremental"})
# Rules that can check only the rows past a high-water mark (`incremental = "<mark column>"`); the others
# judge the whole table (row counts, consistency, anomalies, custom queries) or read little (freshness).
INCREMENTAL = frozenset({RuleType.NOT_NULL, RuleType.ACCEPTED_VALUES, RuleType.RANGE, RuleType.REGEX,
                         RuleType.FUTURE_DATES, RuleType.FRESHNESS, RuleType.UNIQUE, RuleType.REFERENTIAL})
OPTIONAL = {"range": ("min", "max"), "row_count": ("min", "max"), "future_dates": ("tolerance_minutes",),
            "consistency": ("filter", "tolerance"), "row_count_anomaly": ("days", "max_deviation")}


@dataclass(frozen=True)
class Rule:
    id: str
    table: str                       # schema-qualified, e.g. public.events
    type: RuleType
    params: dict[str, Any]
    source: str                      # file:line where it was declared
    severity: Severity = Severity.ERROR
    owner: str = ""
    description: str = ""
    max_violations: int = 0
    max_ratio: float | None = None
    window_column: str | None = None
    window_days: float | None = None
    incremental: str | None = None   # the monotonic column whose high-water mark an incremental run starts at

    @property
    def schema_table(self) -> tuple[str, str]:
        schema, _, name = self.table.partition(".")
        return (schema, name) if name else ("public", schema)

    def threshold(self) -> str:
        if self.type == RuleType.FRESHNESS:
            return f"latest row at most {self.params['max_age_hours']} h old"
        if self.type == RuleType.ROW_COUNT:
            return f"between {self.params.get('min', 0)} and {self.params.get('max', 'any number of')} rows"
        if self.max_ratio is not None:
            return f"at most {self.max_ratio:.2%} of rows tested"
        return f"at most {self.max_violations} violations"


# The type each key must have: a wrong one is one line naming the rule and key, never a crash at run time.
_NUMBER, _TEXT, _TEXTS = (int, float), (str,), (list,)
KEY_TYPES: dict[str, tuple[type, ...]] = {
    "id": _TEXT, "type": _TEXT, "severity": _TEXT, "owner": _TEXT, "description": _TEXT, "max_violations": (int,),
    "max_ratio": _NUMBER, "window_column": _TEXT, "window_days": _NUMBER, "column": _TEXT, "columns": _TEXTS,
    "values": _TEXTS, "pattern": _TEXT, "max_age_hours": _NUMBER, "min": _NUMBER, "max": _NUMBER,
    "tolerance_minutes": _NUMBER, "to": _TEXT, "to_column": _TEXT, "key": _TEXTS, "to_key": _TEXTS,
    "filter": (dict,), "tolerance": _NUMBER, "days": (int,), "max_deviation": _NUMBER, "sql": _TEXT,
    "incremental": _TEXT,
}
_NAMES = {int: "a whole number", float: "a number", str: "a string", list: "a list", dict: "a table"}


def _check_types(raw: dict[str, Any], source: str) -> None:
    for key, value in raw.items():
        wanted = KEY_TYPES.get(key)
        if wanted and (not isinstance(value, wanted) or isinstance(value, bool)):
            name = _NAMES[wanted[0]] if len(wanted) == 1 else "a number"
            raise ConfigError(f"{source}: rule {raw.get('id', '?')}: {key} must be {name}, not {value!r}")
    if raw.get("max_violations", 0) < 0 or not 0 <= raw.get("max_ratio", 0) <= 1:
        raise ConfigError(f"{source}: rule {raw.get('id', '?')}: max_violations must be >= 0 and max_ratio "
                          "between 0 and 1")


def _rule(raw: dict[str, Any], table: str, source: str) -> Rule:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: a rule is a [[rules]] table, not {raw!r}")
    _check_types(raw, source)
    kind = raw.get("type")
    if kind not in REQUIRED:
        raise ConfigError(f"{source}: unknown rule type {kind!r}; known: {', '.join(sorted(REQUIRED))}")
    if not raw.get("id"):
        raise ConfigError(f"{source}: a rule needs an id")
    missing = [k for k in REQUIRED[kind] if k not in raw]
    if missing:
        raise ConfigError(f"{source}: rule {raw['id']} ({kind}) needs {', '.join(missing)}")
    unknown = set(raw) - COMMON - set(REQUIRED[kind]) - set(OPTIONAL.get(kind, ()))
    if unknown:
        raise ConfigError(f"{source}: rule {raw['id']} has unknown keys {', '.join(sorted(unknown))}")
    severity = raw.get("severity", "error")
    if severity not in (Severity.ERROR, Severity.WARN):
        raise ConfigError(f"{source}: rule {raw['id']} severity must be error or warn")
    if (raw.get("window_column") is None) != (raw.get("window_days") is None):
        raise ConfigError(f"{source}: rule {raw['id']} needs both window_column and window_days, or neither")
    if raw.get("incremental") and RuleType(kind) not in INCREMENTAL:
        raise ConfigError(f"{source}: rule {raw['id']} ({kind}) judges the whole table and cannot be incremental")
    if raw.get("incremental") and raw.get("window_column") and kind in ("unique", "referential"):
        raise ConfigError(f"{source}: rule {raw['id']} ({kind}): an incremental run already narrows the rows; "
                          "drop window_column/window_days or incremental")
    params = {k: v for k, v in raw.items() if k not in COMMON}
    return Rule(id=raw["id"], table=table, type=RuleType(kind), params=params, source=source,
                severity=Severity(severity),
                owner=raw.get("owner", ""), description=raw.get("description", ""),
                max_violations=int(raw.get("max_violations", 0)), max_ratio=raw.get("max_ratio"),
                window_column=raw.get("window_column"), window_days=raw.get("window_days"),
                incremental=raw.get("incremental"))


def load_table_file(path: Path) -> list[Rule]:
    """A table's rules: `table = "public.x"` and [[rules]] entries."""
    text = read_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path.name}: {e}") from e
    table = data.get("table")
    if not isinstance(table, str):
        raise ConfigError(f"{path.name}: needs table = \"schema.table\"")
    lines = [i for i, line in enumerate(text.splitlines(), start=1) if line.strip() == "[[rules]]"]
    entries = data.get("rules", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{path.name}: rules are [[rules]] tables, not {entries!r}")
    return [_rule(raw, table, f"{path.name}:{lines[i] if i < len(lines) else 1}") for i, raw in enumerate(entries)]


_HEADER = re.compile(r"^--\s*(?P<key>id|table|severity|owner|description|max_violations)\s*:\s*(?P<value>.+?)\s*$")


def load_sql_rule(path: Path) -> Rule:
    """A custom rule: a query returning the violating rows, with `-- key: value` header lines."""
    header: dict[str, Any] = {}
    body: list[str] = []
    for line in read_text(path).splitlines():
        match = _HEADER.match(line)
        if match and not body:
            header[match["key"]] = match["value"]
        elif line.strip() and not (line.startswith("--") and not body):
            body.append(line)
    if "id" not in header or "table" not in header:
        raise ConfigError(f"{path.name}: a custom rule needs '-- id:' and '-- table:' header lines")
    query = "\n".join(body).strip().rstrip(";")
    table = header.pop("table")
    if "max_violations" in header:
        if not header["max_violations"].isdigit():
            raise ConfigError(f"{path.name}:1: rule {header['id']}: max_violations must be a whole number, not "
                              f"{header['max_violations']!r}")
        header["max_violations"] = int(header["max_violations"])
    return _rule({**header, "type": "custom", "sql": query}, table, f"{path.name}:1")


def load_rules(directory: Path) -> list[Rule]:
    """Every rule under ``directory``: *.toml per table, sql/*.sql custom rules. Ids are unique."""
    if not directory.is_dir():
        raise ConfigError(f"data-quality rules directory not found: {directory}")
    rules = [r for path in sorted(directory.glob("*.toml")) for r in load_table_file(path)]
    rules += [load_sql_rule(path) for path in sorted(directory.glob("sql/*.sql"))]
    seen: dict[str, str] = {}
    for rule in rules:
        if rule.id in seen:
            raise ConfigError(f"{rule.source}: rule id {rule.id} is also declared at {seen[rule.id]}")
        seen[rule.id] = rule.source
    return rules


@dataclass
class TableFacts:
    """What the catalog guarantees about a table, so such rules pass without a scan."""

    exists: bool
    columns: set[str] = field(default_factory=set)
    primary_key: list[str] = field(default_factory=list)
    not_null: set[str] = field(default_factory=set)
    unique_sets: list[tuple[frozenset[str], str]] = field(default_factory=list)
    foreign_keys: list[tuple[str, str, str, str]] = field(default_factory=list)  # column, table, column, name
    fixed_width: set[str] = field(default_factory=set)      # columns of fixed-size types (cheap to compare)
    bytewise_equal: set[str] = field(default_factory=set)   # collatable, and equal only when byte-identical
