"""The doctor: for each failure it knows, a safe heal, executed; the run then checks the phase again to prove it.
Safe means it never deletes data and never weakens security: it applies pending migrations, runs the delta's
statements (which never drop), rebuilds an invalid index concurrently, recomputes metrics_daily for the days
that disagree, pulls a source again, analyzes a table. What it cannot mend stays failed and becomes a ticket."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from healstack.context import Context
from healstack.db import connect
from healstack.errors import HealstackError
from healstack.etl.metrics import drain
from healstack.etl.phase import pull_one
from healstack.etl.stack import pullable
from healstack.registry import Phase
from healstack.results import CheckResult, Outcome
from healstack.sqlfiles import query


@dataclass
class Heal:
    phase: Phase
    targets: list[str]                 # the findings it means to mend: check id and object
    action: str                        # what it does, in words
    statements: list[str] = field(default_factory=list)  # what it executed
    before: list[str] = field(default_factory=list)      # the findings' messages
    error: str | None = None
    seconds: float = 0.0


def fingerprint(result: CheckResult) -> str:
    return f"{result.check_id}:{result.object}"


def _execute(ctx: Context, heal: Heal, statements: list[str]) -> Heal:
    """Each statement on its own (concurrent index builds cannot run in a transaction), under a lock timeout."""
    started = time.perf_counter()
    try:
        with connect(ctx.dsn, autocommit=True) as conn:
            conn.execute("select set_config('lock_timeout', %s, false)", [ctx.settings.lock_timeout])
            for statement in statements:
                conn.execute(statement.encode())
                heal.statements.append(statement)
    except (psycopg.Error, HealstackError) as e:
        heal.error = getattr(getattr(e, "diag", None), "message_primary", None) or str(e)
    heal.seconds = time.perf_counter() - started
    return heal


def _failing(results: list[CheckResult], *check_ids: str) -> list[CheckResult]:
    return [r for r in results if r.outcome.failing and r.check_id in check_ids]


def _parity(ctx: Context, results: list[CheckResult], _embedded: bool) -> list[Heal]:
    """A missing object, grant, RLS flag or a differing policy: the delta's statements (never a DROP). A
    difference only a DROP would mend is left to its ticket."""
    heals = []
    for r in _failing(results, "HS301", "HS303"):
        if r.evidence.get("fix_online") and not r.evidence.get("not_fixed"):
            heal = Heal(Phase.PARITY, [fingerprint(r)], "run the delta that mends it", before=[r.message])
            heals.append(_execute(ctx, heal, list(r.evidence["fix_online"])))
    return heals


def _lints(ctx: Context, results: list[CheckResult], _embedded: bool) -> list[Heal]:
    """An invalid index (a failed concurrent build): rebuilt concurrently, not dropped."""
    return [_execute(ctx, Heal(Phase.LINTS, [fingerprint(r)], "rebuild the invalid index", before=[r.message]),
                     [f"reindex index concurrently {r.object}"]) for r in _failing(results, "HS416")]


def _metrics(ctx: Context, results: list[CheckResult], _embedded: bool) -> list[Heal]:
    """metrics_daily days that disagree with spend and orders, and days the ETL left recorded: recomputed,
    those days only."""
    recomputed = _failing(results, "HS705")  # the ETL phase's own comparison names its days
    failing = [r for r in results if r.outcome.failing and str(r.evidence.get("table")) == "public.metrics_daily"
               and r.evidence.get("type") == "consistency"] + recomputed
    days = sorted({str(s["day"]) for r in failing for s in r.evidence.get("samples", []) if s.get("day")}
                  | {str(d) for r in recomputed for d in r.evidence.get("days", [])})
    if not failing:
        return []
    heal = Heal(Phase.ETL if recomputed else Phase.DQ, [fingerprint(r) for r in failing],
                "recompute metrics_daily for the days that disagree", before=[r.message for r in failing])
    started = time.perf_counter()
    try:
        with connect(ctx.dsn, autocommit=True) as conn:
            recorded, _ = drain(conn)
            if recorded:
                heal.statements.append(f"recompute the days the ETL recorded, {recorded[0]}..{recorded[1]}")
            for day in days:
                conn.execute("select public.recompute_metrics_daily(%s, %s)", [day, day])
                heal.statements.append(f"select public.recompute_metrics_daily('{day}', '{day}')")
    except (psycopg.Error, HealstackError) as e:
        heal.error = str(e)
    heal.seconds = time.perf_counter() - started
    return [heal]


def _sources(ctx: Context, results: list[CheckResult], embedded: bool) -> list[Heal]:
    """A source whose last run failed or was interrupted, or whose data is stale: pulled again, where its
    credentials (or its recorded pages on the embedded default) are there."""
    stale = {r.object: r for r in _failing(results, "HS701", "HS702")}
    heals = []
    for item in pullable(ctx.settings, embedded):
        if item.source.name in stale:
            finding = stale[item.source.name]
            heal = Heal(Phase.ETL, [fingerprint(r) for r in results if r.outcome.failing
                                    and r.object == item.source.name], f"pull {item.label} again",
                        before=[finding.message])
            message, result = pull_one(ctx, item)
            heal.statements.append(f"pull {item.label}: {message}")
            heal.error = None if result is not None else message
            heals.append(heal)
    return heals


def _etl(ctx: Context, results: list[CheckResult], embedded: bool) -> list[Heal]:
    return [*_sources(ctx, results, embedded), *_metrics(ctx, results, embedded)]


def stale_statistics(ctx: Context) -> list[CheckResult]:
    """HS902: tables changed by more than autovacuum's analyze threshold since their statistics were taken."""
    with connect(ctx.dsn, autocommit=True) as conn:
        rows = conn.execute(query("healstack", "stale_statistics")).fetchall()
    found = [CheckResult("HS902", Outcome.WARNED, name, f"{changed} rows changed since its last analyze "
                         f"({estimate} rows estimated)", {"changed": changed, "estimated_rows": estimate})
             for name, changed, estimate in rows]
    return found or [CheckResult("HS902", Outcome.PASSED, "statistics", "every table's statistics are current")]


def _statistics(ctx: Context, results: list[CheckResult], _embedded: bool) -> list[Heal]:
    return [_execute(ctx, Heal(Phase.DOCTOR, [fingerprint(r)], "analyze the table", before=[r.message]),
                     [f"analyze {r.object}"]) for r in results if r.check_id == "HS902"
            and r.outcome is Outcome.WARNED]


HEALS: dict[Phase, Callable[[Context, list[CheckResult], bool], list[Heal]]] = {
    Phase.PARITY: _parity, Phase.LINTS: _lints, Phase.DQ: _metrics, Phase.ETL: _etl, Phase.DOCTOR: _statistics,
}


def verdict(heal: Heal, after: list[CheckResult]) -> CheckResult:
    """HS901: whether the heal made its findings pass, proven by the phase checked again."""
    still = [fingerprint(r) for r in after if r.outcome.failing and fingerprint(r) in heal.targets]
    evidence: dict[str, Any] = {"phase": heal.phase.value, "targets": heal.targets, "action": heal.action,
                                "statements": heal.statements, "before": heal.before,
                                "after": still or "passing", "seconds": round(heal.seconds, 3)}
    where = ", ".join(heal.targets)
    if heal.error or still:
        return CheckResult("HS901", Outcome.FAILED, where, f"{heal.action}: " + (
            f"failed: {heal.error}" if heal.error else "the check still fails afterwards"), evidence)
    return CheckResult("HS901", Outcome.PASSED, where, f"healed: {heal.action}", evidence)
