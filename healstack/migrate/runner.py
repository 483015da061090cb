"""The apply phase: each pending migration in its own transaction, with timeouts, a ledger and evidence."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from healstack.compat import ensure_supabase_compat
from healstack.config import Settings
from healstack.context import Context
from healstack.db import connect, server_facts
from healstack.declarations import load_waivers
from healstack.errors import ConfigError, MigrationFailed, Refused
from healstack.evidence import EvidenceLog
from healstack.migrate import ledger
from healstack.migrate.drift import ledger_drift, untracked_objects
from healstack.migrate.files import Migration, discover
from healstack.migrate.indexes import indexed_tables, rebuild_invalid, require_valid
from healstack.migrate.lint import lint_all
from healstack.migrate.statements import Statement, split
from healstack.pooler import refuse_transaction_pooler
from healstack.results import CheckResult, Outcome


@dataclass
class ApplyOutcome:
    """What an apply run did; the CLI prints it and tests assert on it."""

    dry_run: bool
    server: dict[str, Any]
    applied: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    results: list[CheckResult] = field(default_factory=list)
    evidence_dir: Path | None = None
    failure: Refused | MigrationFailed | None = None
    status_before: list[dict[str, str]] = field(default_factory=list)  # the migration inventory, as the
    status_after: list[dict[str, str]] = field(default_factory=list)   # runbook's `migration list` shows it


def status_table(migrations: list[Migration], applied: dict[str, ledger.LedgerRow]) -> list[dict[str, str]]:
    """Migration inventory (the runbook's `migration list`): one row per known version."""
    rows = []
    for m in migrations:
        row = applied.get(m.version)
        state = ("pending" if row is None else "applied (Supabase CLI)" if row.checksum is None
                 else "applied" if row.checksum == m.checksum else "drifted")
        rows.append({"version": m.version, "name": m.name, "state": state,
                     "applied_at": f"{row.applied_at:%Y-%m-%d %H:%M:%S%z}" if row and row.applied_at else ""})
    rows += [{"version": v, "name": r.name, "state": "missing file",
              "applied_at": f"{r.applied_at:%Y-%m-%d}" if r.applied_at else ""}
             for v, r in applied.items() if v not in {m.version for m in migrations}]
    return rows


def _set_timeouts(conn: psycopg.Connection[Any], settings: Settings, *, local: bool) -> None:
    conn.execute("select set_config('lock_timeout', %s, %s), set_config('statement_timeout', %s, %s)",
                 [settings.lock_timeout, local, settings.statement_timeout, local])


def _failure(migration: Migration, stmt: Statement, error: psycopg.Error) -> MigrationFailed:
    line = stmt.line
    position = error.diag.statement_position
    if position and position.isdigit():
        line += stmt.sql[: int(position) - 1].count("\n")
    primary = error.diag.message_primary or str(error).splitlines()[0]
    kept = ("nothing of this file was applied" if migration.transactional
            else "no-transaction file: the statements before it were kept")
    return MigrationFailed(f"{migration.label}:{line}: {primary} in `{stmt.summary}`; {kept}")


def _run_statements(conn: psycopg.Connection[Any], migration: Migration, statements: list[Statement],
                    log: EvidenceLog) -> None:
    for stmt in statements:
        started = time.perf_counter()
        try:
            cur = conn.execute(stmt.sql.encode("utf-8"))
        except psycopg.Error as e:
            log.event("statement", f"{migration.label}:{stmt.line} failed: {stmt.summary}", file=migration.label,
                      line=stmt.line, status="error", sqlstate=e.sqlstate, error=str(e).strip())
            raise _failure(migration, stmt, e) from e
        log.event("statement", f"{migration.label}:{stmt.line} ok: {stmt.summary}", file=migration.label,
                  line=stmt.line, status="ok", command=cur.statusmessage,
                  duration_ms=round((time.perf_counter() - started) * 1000, 3))


def execute(conn: psycopg.Connection[Any], migration: Migration, settings: Settings, log: EvidenceLog,
            *, then: Callable[[int, float], None] | None = None) -> float:
    """Run one SQL file, all or nothing unless it opts out; ``then(statements, ms)`` runs in its transaction."""
    statements = split(migration.text, migration.label)
    started = time.perf_counter()
    if migration.transactional:
        with conn.transaction():
            _set_timeouts(conn, settings, local=True)
            _run_statements(conn, migration, statements, log)
            if then:
                then(len(statements), (time.perf_counter() - started) * 1000)
    else:
        _set_timeouts(conn, settings, local=False)
        tables = indexed_tables(statements)
        rebuild_invalid(conn, migration, tables, log)
        _run_statements(conn, migration, statements, log)
        require_valid(conn, migration, tables)
        if then:
            with conn.transaction():
                then(len(statements), (time.perf_counter() - started) * 1000)
    return (time.perf_counter() - started) * 1000


def apply_one(conn: psycopg.Connection[Any], migration: Migration, settings: Settings, log: EvidenceLog) -> float:
    """Apply one migration and record it in the ledger in the same transaction."""
    return execute(conn, migration, settings, log,
                   then=lambda count, ms: ledger.record(conn, migration, ms, count))


def apply_migrations(ctx: Context, *, dry_run: bool = False, throwaway: bool = False) -> ApplyOutcome:
    """Apply every pending migration in ``ctx.settings.migrations_dir`` to the target.

    A refusal (unsafe or drifted migrations) or a failing migration does not raise: it is the outcome's
    ``failure``, with the results gathered up to then. A bad setting or an unreachable target raises.
    A ``throwaway`` database (a reference build) is healstack's alone: no lock keeps anyone else out."""
    settings = ctx.settings
    migrations = discover(settings.migrations_dir)
    log = ctx.evidence("apply")
    with connect(ctx.dsn, autocommit=True) as conn:
        conn.add_notice_handler(lambda d: log.event("notice", d.message_primary or ""))
        outcome = ApplyOutcome(dry_run=dry_run, server=server_facts(conn), evidence_dir=log.directory)
        log.event("connect", "connected", **outcome.server)
        try:
            _apply(conn, None if throwaway else ctx.dsn, migrations, settings, log, outcome)
        except (Refused, MigrationFailed) as e:
            outcome.failure = e
            log.event("failed", str(e))
        for r in outcome.results:
            log.event("check", r.line(), result=r.to_dict())
        outcome.status_after = status_table(migrations, ledger.read_ledger(conn))
        log.event("status", "after", migrations=outcome.status_after)
    return outcome


def apply(dsn: str, settings: Settings, *, dry_run: bool = False, run_dir: Path | None = None,
          throwaway: bool = False) -> ApplyOutcome:
    """apply_migrations() for callers that stop at the first problem: a refusal or failure raises."""
    outcome = apply_migrations(Context(dsn, settings, run_dir), dry_run=dry_run, throwaway=throwaway)
    if outcome.failure is not None:
        raise outcome.failure
    return outcome


def _apply(conn: psycopg.Connection[Any], lock_for: str | None, migrations: list[Migration], settings: Settings,
           log: EvidenceLog, outcome: ApplyOutcome) -> None:
    """Lint, lock (unless ``lock_for`` is None: a throwaway database), check drift, apply what is pending."""
    lint = lint_all(migrations, dict(settings.lint_severity), ledger.read_ledger(conn),
                    load_waivers(settings.lint_waivers))
    outcome.results += lint
    if any(r.outcome is Outcome.FAILED for r in lint):
        raise Refused(f"unsafe migration statements refused ({sum(not r.ok for r in lint)}); "
                      "fix them or add a '-- healstack: allow HSnnn <reason>' comment")
    if not outcome.dry_run and lock_for is not None:
        # a session lock through a transaction pooler would neither hold nor end with this run
        refuse_transaction_pooler(lock_for, "apply", settings.pooler)
        row = conn.execute("select pg_try_advisory_lock(%s)", [ledger.APPLY_LOCK_KEY]).fetchone()
        if not (row and row[0]):
            raise ConfigError("another healstack apply is running against this database; try again later")
    if not outcome.dry_run:
        log.event("compat", ensure_supabase_compat(conn))
        ledger.ensure_ledger(conn)
    applied = ledger.read_ledger(conn)
    outcome.status_before = status_table(migrations, applied)
    log.event("status", "before", migrations=outcome.status_before)
    drift = ledger_drift(migrations, applied)
    pending = [m for m in migrations if m.version not in applied]
    drift += untracked_objects(conn, pending)
    outcome.results += drift
    if any(r.outcome is Outcome.FAILED for r in drift):
        raise Refused("applied migrations drifted from their files; nothing was applied")
    outcome.pending = [m.label for m in pending]
    for migration in pending:
        if outcome.dry_run:
            log.event("plan", f"would apply {migration.label}", checksum=migration.checksum)
            continue
        ms = apply_one(conn, migration, settings, log)
        outcome.applied.append(migration.label)
        log.event("applied", migration.label, duration_ms=round(ms, 3), checksum=migration.checksum)
