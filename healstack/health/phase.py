"""The health phase: the database's inventory (HS800), the audits (HS801-HS813), the slowest statements
(HS814), the stack's own access paths (HS815) and, with a retention policy, its data jobs (HS816, HS817), on one
connection. Index validity, duplicates and foreign keys without an index are the lints' (HS416, HS413, HS412);
`healstack health` runs both phases."""

from __future__ import annotations

from typing import Any

from healstack.context import Context
from healstack.db import connect
from healstack.health import size
from healstack.health.audits import run_audits
from healstack.health.declaration import load_health
from healstack.health.paths import access_paths
from healstack.health.statements import slow_statements
from healstack.results import CheckResult, Outcome
from healstack.retention.checks import backup_age, overdue
from healstack.retention.policy import load_policy
from healstack.sqlfiles import query


def inventory(rows: list[tuple[str, dict[str, Any]]]) -> CheckResult:
    """HS800: every table's estimated rows and bytes, recorded for the report and the next run's comparison."""
    tables = [{"table": name, **detail} for name, detail in rows]
    total = sum(int(t["total_bytes"]) for t in tables)
    return CheckResult("HS800", Outcome.PASSED, "tables", f"{len(tables)} tables, {size(total)} in all",
                       {"tables": tables, "total_bytes": total})


def health(ctx: Context) -> list[CheckResult]:
    declaration = load_health(ctx.settings.health)
    with connect(ctx.dsn, autocommit=True) as conn:
        results = [inventory(conn.execute(query("healstack.health", "sizes")).fetchall())]
        results += run_audits(conn, declaration.thresholds)
        results += slow_statements(conn, declaration.thresholds)
        results += access_paths(ctx.dsn, conn, declaration)
        if ctx.settings.retention.is_file() or "retention" in ctx.settings.explicit:
            policy = load_policy(ctx.settings.retention)
            results += overdue(conn, policy, ctx.settings.timezone)
            results.append(backup_age(conn, policy))
    return results
