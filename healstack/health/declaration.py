"""The health phase's declaration (checks/health.toml): each audit's threshold, and the stack's own access paths
(the queries it depends on, run as the API runs them). Omitted thresholds keep the defaults below, which follow
the seed's alert levels and PgHero's; an unknown key or a value of the wrong type is one line naming it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from healstack.declarations import read_toml
from healstack.errors import ConfigError

MIB = 1024 * 1024


@dataclass(frozen=True)
class Thresholds:
    unused_index_min_bytes: int = MIB          # a smaller unused index costs too little to report
    unused_index_min_days: float = 7           # younger usage statistics cannot call an index unused
    seq_scan_min_rows: int = 10_000            # the seed: a sequential scan on a table over 10k rows is critical
    seq_scan_min_scans: int = 100              # a nightly data-quality scan now and then is not a pattern
    seq_scan_max_percent: float = 50           # share of a table's scans that are sequential
    bloat_min_bytes: int = 10 * MIB
    bloat_max_percent: float = 50              # estimated wasted share of a table's or index's pages
    cache_hit_min_percent: float = 99          # Supabase's advice for table and index hit ratios
    cache_min_blocks: int = 10_000             # fewer block reads than this say nothing about the cache
    vacuum_min_rows: int = 10_000              # smaller tables never vacuumed are not worth a finding
    dead_tuple_max_percent: float = 20
    dead_tuple_min: int = 1_000
    xid_age_max_percent: float = 50            # of the ~2.1 billion transaction IDs before wraparound
    sequence_max_percent: float = 80           # of the largest value the sequence (or its column) can hold
    long_query_seconds: float = 60
    idle_in_transaction_seconds: float = 60
    blocked_seconds: float = 5
    connections_max_percent: float = 80        # of max_connections less the reserved ones
    statement_warn_ms: float = 50              # the seed: a query's mean over 50 ms warns
    statement_critical_ms: float = 200         # and over 200 ms is critical
    statements_shown: int = 10                 # slowest statements listed, by mean and by total time
    plan_budget_ms: float = 200                # an access path's default time budget


@dataclass(frozen=True)
class AccessPath:
    """One query the stack depends on, run with EXPLAIN (ANALYZE, BUFFERS) as ``run_as``, inside a transaction
    that is rolled back."""

    name: str
    sql: str
    run_as: str = "tenant"          # "tenant" (a signed-in user of the tenant below, through RLS) or "service_role"
    budget_ms: float | None = None  # None: the thresholds' plan_budget_ms


@dataclass(frozen=True)
class HealthDeclaration:
    thresholds: Thresholds = Thresholds()
    tenant_sql: str | None = None   # returns (project, scope): the tenant the access paths run as
    paths: list[AccessPath] = field(default_factory=list)


def _number(path: Path, key: str, value: Any, kind: type) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"{path.name}: {key} must be a number not below 0, not {value!r}")
    return int(value) if kind is int and float(value).is_integer() else float(value)


def _thresholds(path: Path, raw: Any) -> Thresholds:
    if not isinstance(raw, dict):
        raise ConfigError(f"{path.name}: [thresholds] must be a table")
    known = {f.name: f for f in dataclasses.fields(Thresholds)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ConfigError(f"{path.name}: unknown threshold {unknown[0]!r} (known: {', '.join(known)})")
    values: dict[str, Any] = {k: _number(path, f"thresholds.{k}", v, int if known[k].type == "int" else float)
                              for k, v in raw.items()}
    return Thresholds(**values)


def _path(path: Path, i: int, raw: Any) -> AccessPath:
    where = f"{path.name}: access_paths.path {i}"
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not isinstance(raw.get("sql"), str):
        raise ConfigError(f"{where} needs a name and sql (text)")
    unknown = sorted(set(raw) - {"name", "sql", "as", "budget_ms"})
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: name, sql, as, budget_ms)")
    run_as = raw.get("as", "tenant")
    if run_as not in ("tenant", "service_role"):
        raise ConfigError(f"{where}: as must be \"tenant\" or \"service_role\", not {run_as!r}")
    budget = raw.get("budget_ms")
    return AccessPath(raw["name"], raw["sql"], run_as,
                      None if budget is None else float(_number(path, f"{where} budget_ms", budget, float)))


def load_health(path: Path) -> HealthDeclaration:
    """The declaration, or the defaults (and no access path) when the file does not exist."""
    if not path.exists():
        return HealthDeclaration()
    raw = read_toml(path)
    unknown = sorted(set(raw) - {"thresholds", "access_paths"})
    if unknown:
        raise ConfigError(f"{path.name}: unknown table {unknown[0]!r} (known: thresholds, access_paths)")
    paths_raw = raw.get("access_paths", {})
    if not isinstance(paths_raw, dict):
        raise ConfigError(f"{path.name}: [access_paths] must be a table")
    tenant = paths_raw.get("tenant")
    if tenant is not None and not isinstance(tenant, str):
        raise ConfigError(f"{path.name}: access_paths.tenant must be a query (text)")
    entries = paths_raw.get("path", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{path.name}: access paths are [[access_paths.path]] tables")
    paths = [_path(path, i, e) for i, e in enumerate(entries, start=1)]
    names = [p.name for p in paths]
    if len(set(names)) != len(names):
        raise ConfigError(f"{path.name}: access path names must be unique")
    return HealthDeclaration(_thresholds(path, raw.get("thresholds", {})), tenant, paths)
