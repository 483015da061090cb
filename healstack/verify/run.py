"""The verify phase's functions: schema parity and the security lints as results, and the delta."""

from __future__ import annotations

from healstack import catalog
from healstack.context import Context
from healstack.db import connect
from healstack.delta import Delta, plan_delta
from healstack.results import CheckResult
from healstack.verify.lints import LINTS, gather, load_waivers, run_lint
from healstack.verify.parity import parity_results
from healstack.verify.reference import reference_snapshot


def _snapshots(ctx: Context) -> tuple[catalog.Snapshot, catalog.Snapshot]:
    expected = reference_snapshot(ctx.settings, ctx.dsn)
    with connect(ctx.dsn) as conn:
        return expected, catalog.take(conn)


def _logged(ctx: Context, phase: str, results: list[CheckResult]) -> list[CheckResult]:
    log = ctx.evidence(phase)
    for r in results:
        log.event("check", r.line(), result=r.to_dict())
    return results


def parity(ctx: Context) -> list[CheckResult]:
    """Every difference between the target and migrations/ applied to a fresh database."""
    return _logged(ctx, "parity", parity_results(*_snapshots(ctx)))


def security_lints(ctx: Context) -> list[CheckResult]:
    """Every lint's findings on the target, waivers applied."""
    waivers = load_waivers(ctx.settings.lint_waivers)
    with connect(ctx.dsn) as conn:
        facts = gather(conn)
    return _logged(ctx, "lints", [r for lint in LINTS for r in run_lint(lint, facts, waivers)])


def delta_for(ctx: Context, *, online: bool = False) -> Delta:
    expected, actual = _snapshots(ctx)
    return plan_delta(expected, actual, online=online)
