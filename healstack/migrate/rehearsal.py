"""Rollback rehearsal: for each migration, up -> rollback -> catalog as before -> up again -> as after up."""

from __future__ import annotations

from typing import Any

import psycopg

from healstack import catalog
from healstack.compat import ensure_supabase_compat
from healstack.config import Settings
from healstack.context import Context
from healstack.db import connect, scratch_database
from healstack.errors import HealstackError
from healstack.evidence import EvidenceLog
from healstack.migrate.files import Migration, discover
from healstack.migrate.runner import execute
from healstack.results import CheckResult, Outcome


def rollback_of(migration: Migration) -> Migration:
    return Migration(version=migration.version, name=migration.name, path=migration.rollback_path)


def _differences(diffs: list[catalog.Difference]) -> list[str]:
    return [d.describe() for d in diffs]


def _without_rollback(conn: psycopg.Connection[Any], migration: Migration, settings: Settings, log: EvidenceLog,
                      forward_only: bool) -> tuple[CheckResult, catalog.Snapshot | None]:
    """No rollback file: apply the migration (the next ones build on it) and say what running it again does.
    In a forward-only project (no rollback files at all) that is not a failure, only not evaluated."""
    outcome, why = ((Outcome.NOT_EVALUATED, "forward-only project (no .rollback.sql files): nothing to rehearse")
                    if forward_only else (Outcome.FAILED, f"no rollback file {migration.rollback_path.name}"))
    try:
        execute(conn, migration, settings, log)
    except HealstackError as e:
        return CheckResult("HS201", Outcome.ERROR, migration.label, f"{why}; it does not apply: {e}", {}), None
    after = catalog.take(conn)
    if not migration.transactional:  # a half-run concurrent build would leave the scratch state unknown
        return CheckResult("HS201", outcome, migration.label, why, {}), after
    try:
        execute(conn, migration, settings, log)
        changed = catalog.diff(after, catalog.take(conn))
        again = (f"running it again changes the schema: {changed[0].describe()}" if changed
                 else "running it again changes nothing")
        state = None if changed else after
    except HealstackError as e:
        again, state = f"running it again fails ({str(e).splitlines()[0][:200]})", after
    return CheckResult("HS201", outcome, migration.label, f"{why}; it applies, {again}", {"again": again}), state


def rehearse_one(conn: psycopg.Connection[Any], migration: Migration, settings: Settings,
                 log: EvidenceLog, before: catalog.Snapshot | None = None, forward_only: bool = False,
                 ) -> tuple[CheckResult, catalog.Snapshot | None]:
    """Up, rollback, up again on ``conn``; the result names every object the rollback got wrong.

    Also returns the catalog it left (the next migration's "before", so it is not taken twice), or None
    when the state is unknown because the rehearsal stopped."""
    if not migration.rollback_path.exists():
        return _without_rollback(conn, migration, settings, log, forward_only)
    try:
        before = before if before is not None else catalog.take(conn)
        execute(conn, migration, settings, log)
        after_up = catalog.take(conn)
        execute(conn, rollback_of(migration), settings, log)
        after_rollback = catalog.take(conn)
        execute(conn, migration, settings, log)
        again = catalog.take(conn)
    except HealstackError as e:
        return CheckResult("HS202", Outcome.ERROR, migration.label, f"rehearsal stopped: {e}", {}), None
    leftovers = catalog.diff(before, after_rollback)
    if leftovers:
        return CheckResult("HS202", Outcome.FAILED, migration.label,
                           f"rollback does not restore the catalog: {len(leftovers)} differences, e.g. "
                           f"{leftovers[0].describe()}", {"differences": _differences(leftovers)}), again
    divergence = catalog.diff(after_up, again)
    if divergence:
        return CheckResult("HS203", Outcome.FAILED, migration.label,
                           f"re-applying after rollback does not converge: {divergence[0].describe()}",
                           {"differences": _differences(divergence)}), again
    changed = len(catalog.diff(before, after_up))
    return CheckResult("HS202", Outcome.PASSED, migration.label,
                       f"up/rollback/up round trip exact ({changed} objects created and removed)",
                       {"objects": changed}), again


def rehearse_rollback(ctx: Context) -> list[CheckResult]:
    """Rehearse every migration in a throwaway database on the target's server; the target is untouched."""
    migrations = discover(ctx.settings.migrations_dir)
    log = ctx.evidence("rollback")
    results = []
    with scratch_database(ctx.dsn, "healstack_rehearsal") as scratch, connect(scratch, autocommit=True) as conn:
        log.event("compat", ensure_supabase_compat(conn))
        state: catalog.Snapshot | None = None
        forward_only = not any(m.rollback_path.exists() for m in migrations)
        for migration in migrations:
            result, state = rehearse_one(conn, migration, ctx.settings, log, state, forward_only)
            log.event("check", result.line(), result=result.to_dict())
            results.append(result)
    return results
