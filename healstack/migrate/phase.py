"""The apply phase's function: what the apply action found (or, without one, the same checks read-only),
whether every migration is in the target's ledger, and the stack's own healthcheck function if it has one."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from healstack.context import Context
from healstack.db import connect
from healstack.declarations import load_waivers
from healstack.migrate.drift import ledger_drift, untracked_objects
from healstack.migrate.files import Migration, discover
from healstack.migrate.ledger import LedgerRow, read_ledger
from healstack.migrate.lint import lint_all
from healstack.migrate.runner import ApplyOutcome
from healstack.results import CheckResult, Outcome


def action_result(outcome: ApplyOutcome) -> CheckResult:
    """HS100: what the apply action did."""
    server = outcome.server
    evidence = {"applied": outcome.applied, "pending": outcome.pending, "server": server,
                "evidence": str(outcome.evidence_dir) if outcome.evidence_dir else None}
    where = str(server.get("database", "target"))
    if outcome.failure is not None:
        return CheckResult("HS100", Outcome.FAILED, where, str(outcome.failure),
                           {**evidence, "failure": type(outcome.failure).__name__})
    if outcome.dry_run:
        names = ", ".join(outcome.pending) or "nothing"
        return CheckResult("HS100", Outcome.PASSED, where,
                           f"dry run: would apply {len(outcome.pending)} migrations ({names}); nothing changed",
                           evidence)
    return CheckResult("HS100", Outcome.PASSED, where,
                       f"applied {len(outcome.applied)} migrations on Postgres {server.get('server_version')}",
                       evidence)


def _ledger_status(migrations: list[Migration], ledger: dict[str, LedgerRow], dry_run: bool) -> list[CheckResult]:
    """HS104, one per migration: applied, or pending (not evaluated in a dry run, which applies nothing)."""
    results = []
    for m in migrations:
        if m.version in ledger:
            results.append(CheckResult("HS104", Outcome.PASSED, m.label, "applied"))
        elif dry_run:
            results.append(CheckResult("HS104", Outcome.NOT_EVALUATED, m.label, "pending; a dry run applies nothing"))
        else:
            results.append(CheckResult("HS104", Outcome.FAILED, m.label,
                                       "pending: not in the target's ledger; run healstack apply",
                                       {"version": m.version}))
    return results


def healthcheck(conn: psycopg.Connection[Any], function: str) -> CheckResult:
    """HS105: the stack's own healthcheck function (jsonb with "ok", the rest naming problems)."""
    schema, _, name = function.removesuffix("()").partition(".")
    shown = f"{schema}.{name}()"
    found = conn.execute("select to_regprocedure(%s) is not null", [shown]).fetchone()
    if not (found and found[0]):
        return CheckResult("HS105", Outcome.FAILED, shown, "the configured healthcheck function does not exist")
    row = conn.execute(sql.SQL("select {}()").format(sql.Identifier(schema, name))).fetchone()
    health = row[0] if row else None
    if not isinstance(health, dict) or "ok" not in health:
        return CheckResult("HS105", Outcome.ERROR, shown, "returned no JSON object with an \"ok\" key",
                           {"returned": repr(health)[:200]})
    # lists of offending objects are the findings; the rest (counts, per-table details) is information
    problems = {k: v for k, v in health.items() if isinstance(v, list) and v and k != "extensions"}
    evidence = {"ok": health["ok"], **problems,
                **{k: v for k, v in health.items() if k in ("database", "server_version", "checked_at")}}
    if health["ok"]:
        return CheckResult("HS105", Outcome.PASSED, shown, "ok", evidence)
    message = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in problems.items())
    return CheckResult("HS105", Outcome.FAILED, shown, message or "not ok", evidence)


def apply_phase(ctx: Context, applied: ApplyOutcome | None) -> list[CheckResult]:
    """The apply phase's results. ``applied`` is the apply action's outcome when this run applied; without
    one the lint and drift checks run read-only, so a run against a target reports the same check ids."""
    migrations = discover(ctx.settings.migrations_dir)
    with connect(ctx.dsn, autocommit=True) as conn:
        ledger = read_ledger(conn)
        if applied is None:
            pending = [m for m in migrations if m.version not in ledger]
            results = (lint_all(migrations, dict(ctx.settings.lint_severity), ledger,
                                load_waivers(ctx.settings.lint_waivers))
                       + ledger_drift(migrations, ledger) + untracked_objects(conn, pending))
        else:
            results = [*applied.results, action_result(applied)]
        results += _ledger_status(migrations, ledger, dry_run=bool(applied and applied.dry_run))
        if ctx.settings.healthcheck:
            results.append(healthcheck(conn, ctx.settings.healthcheck))
        results += stand_ins(conn)
    return results


def stand_ins(conn: psycopg.Connection[Any]) -> list[CheckResult]:
    """HS106: the platform extensions this target has only as healstack's labelled stand-ins (the embedded
    default's pg_net, pg_cron, Vault, pgcrypto ...), so no one takes a rehearsal for the platform."""
    rows = conn.execute("select e.extname, pg_catalog.obj_description(e.oid, 'pg_extension')"
                        " from pg_catalog.pg_extension as e"
                        " where pg_catalog.obj_description(e.oid, 'pg_extension') like 'healstack stand-in%'"
                        " order by 1").fetchall()
    if not rows:
        return []
    return [CheckResult("HS106", Outcome.WARNED, "extensions", f"{len(rows)} platform extensions are healstack's "
                        f"stand-ins, not the real ones: {', '.join(r[0] for r in rows)}",
                        {"stand_ins": {r[0]: r[1] for r in rows}})]
