"""The verify phase's functions: schema parity and the security lints as results, and the delta."""

from __future__ import annotations

from typing import Any

import psycopg

from healstack import catalog
from healstack.context import Context
from healstack.db import connect
from healstack.declarations import load_waivers
from healstack.delta import Delta, plan_delta
from healstack.migrate.ledger import ledger_exists
from healstack.results import CheckResult
from healstack.verify.facts import gather
from healstack.verify.lints import LINTS, run_lint
from healstack.verify.parity import parity_results
from healstack.verify.reference import reference_snapshot


def migration_role(conn: psycopg.Connection[Any]) -> str:
    """The role that migrated the target: the ledger's last applier, else the role checking it."""
    if ledger_exists(conn):
        row = conn.execute("select applied_by from healstack.schema_migrations order by applied_at desc, version desc"
                           " limit 1").fetchone()
        if row:
            return str(row[0])
    row = conn.execute("select current_user").fetchone()
    return str(row[0] if row else "")


def _snapshots(ctx: Context) -> tuple[catalog.Snapshot, catalog.Snapshot]:
    """(expected, actual). Owners and grants are compared relative to each side's migration role: the
    reference is built by whoever checks (or by postgres on an embedded server when the target's server
    allows no CREATE DATABASE), the target was migrated by whoever applied it."""
    expected, reference_role = reference_snapshot(ctx.settings, ctx.dsn)
    with connect(ctx.dsn) as conn:
        target_role = migration_role(conn)
        actual = catalog.take(conn)
    if reference_role != target_role:
        expected = catalog.rename_role(expected, reference_role, target_role)
    return expected, actual


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
