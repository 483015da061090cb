"""The guardrails over the data jobs, in the health phase: rows past their retention by more than the grace
days (HS816: the retention job has stalled or fails) and the age of the last verified backup (HS817). A stalled
job then fails a check, and a failing check becomes a ticket."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from healstack.registry import spec
from healstack.results import CheckResult, Outcome
from healstack.retention import archive
from healstack.retention.policy import RetentionPolicy, due


def _exists(conn: psycopg.Connection[Any], table: str) -> bool:
    row = conn.execute("select to_regclass(%s) is not null", [table]).fetchone()
    return bool(row and row[0])


def overdue(conn: psycopg.Connection[Any], policy: RetentionPolicy, tz: str) -> list[CheckResult]:
    results = []
    for table in policy.tables:
        if not _exists(conn, table.table):
            results.append(CheckResult("HS816", Outcome.NOT_EVALUATED, table.table, "table does not exist"))
            continue
        params: list[Any] = []
        condition = due(table, tz, params, extra_days=policy.grace_days)
        row = conn.execute(sql.SQL("select count(*), min({age})::text from {table} where {due}").format(
            age=sql.Identifier(table.age_column), table=sql.Identifier(*table.schema_table), due=condition),
            params).fetchone()
        count, oldest = (int(row[0]), row[1]) if row else (0, None)
        evidence = {"rows": count, "oldest": oldest, "days": table.days, "grace_days": policy.grace_days}
        if count == 0:
            results.append(CheckResult("HS816", Outcome.PASSED, table.table,
                                       f"no row past {table.days} days (+{policy.grace_days} grace)", evidence))
        else:
            results.append(CheckResult("HS816", spec("HS816").severity.outcome(), table.table,
                                       f"{count} rows past their retention by over {policy.grace_days} days (oldest "
                                       f"{oldest}): is the retention job running? healstack retention --dry-run",
                                       evidence))
    return results


def backup_age(conn: psycopg.Connection[Any], policy: RetentionPolicy) -> CheckResult:
    """Passes while the declared tables are empty (nothing to lose) or a backup is younger than the limit."""
    tables = [t for t in policy.backup_tables if _exists(conn, t)]
    if not tables:
        return CheckResult("HS817", Outcome.NOT_EVALUATED, "backups", "no backup table declared exists")
    rows = sum(int(r[0]) for r in (conn.execute(sql.SQL("select count(*) from {}").format(
        archive.ident(t))).fetchone() for t in tables) if r)
    last = None
    if _exists(conn, "healstack.backups"):
        found = conn.execute("select max(finished_at)::text, coalesce(extract(epoch from now() - max(finished_at))"
                             " / 86400, 'infinity') from healstack.backups where kind = 'backup'").fetchone()
        last = found if found and found[0] else None
    evidence = {"rows": rows, "last_backup": last[0] if last else None, "max_age_days": policy.backup_max_age_days}
    if rows == 0:
        return CheckResult("HS817", Outcome.PASSED, "backups", "the backup tables are empty: nothing to lose yet",
                           evidence)
    if last and float(last[1]) <= policy.backup_max_age_days:
        return CheckResult("HS817", Outcome.PASSED, "backups", f"last verified backup {last[0]}", evidence)
    when = f"the last one was {last[0]}" if last else "none recorded on this database"
    return CheckResult("HS817", spec("HS817").severity.outcome(), "backups",
                       f"no verified backup in {policy.backup_max_age_days} days of {rows} rows ({when}): "
                       "run healstack backup (the weekly job)", evidence)
