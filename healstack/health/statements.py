"""HS814: the slowest statements pg_stat_statements has seen, against the seed's alert levels (a mean over 50 ms
warns, over 200 ms is critical). Supabase installs the extension in `extensions`; found in any schema. Where it
is missing or not loaded, the check says so instead of passing. Only statements that serve requests are judged
(select, insert, update, delete, merge, with, values, table: not DDL, VACUUM or CREATE DATABASE); healstack's own
(every statement it sends ends with a marking comment) are left out: a health check must not report itself."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from healstack import registry
from healstack.db import MARK
from healstack.health.declaration import Thresholds
from healstack.results import CheckResult, Outcome

# String literals are masked: a utility statement is kept as written and may carry a password.
_STATEMENTS = """
select s.queryid::text as queryid, left(regexp_replace(s.query, '''(?:[^'']|'''')*''', '''…''', 'g'), 300) as query,
       s.calls, round(s.mean_exec_time::numeric, 1) as mean_ms, round(s.total_exec_time::numeric) as total_ms,
       s.rows
from {view} as s
where s.dbid = (select oid from pg_catalog.pg_database where datname = pg_catalog.current_database())
  and s.query ~* '^\\s*(select|insert|update|delete|merge|with|values|table)\\M'
  and strpos(s.query, %s) = 0
order by {order} desc
limit %s
"""


def _schema(conn: psycopg.Connection[Any]) -> str | None:
    row = conn.execute("select n.nspname from pg_catalog.pg_extension as e join pg_catalog.pg_namespace as n"
                       " on e.extnamespace = n.oid where e.extname = 'pg_stat_statements'").fetchone()
    return str(row[0]) if row else None


def _slowest(conn: psycopg.Connection[Any], schema: str, order: str, limit: int) -> list[dict[str, Any]]:
    view = sql.Identifier(schema, "pg_stat_statements")
    statement = sql.SQL(_STATEMENTS).format(view=view, order=sql.Identifier(order))
    with conn.cursor() as cur:
        cur.execute(statement, [MARK, limit])
        names = [d.name for d in cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def slow_statements(conn: psycopg.Connection[Any], thresholds: Thresholds) -> list[CheckResult]:
    schema = _schema(conn)
    if schema is None:
        return [CheckResult("HS814", Outcome.NOT_EVALUATED, "pg_stat_statements", "pg_stat_statements is not "
                            "installed (Supabase has it in extensions: create extension pg_stat_statements with "
                            "schema extensions)")]
    try:
        with conn.transaction():
            by_mean = _slowest(conn, schema, "mean_ms", thresholds.statements_shown)
            by_total = _slowest(conn, schema, "total_ms", thresholds.statements_shown)
    except psycopg.errors.ObjectNotInPrerequisiteState as e:  # installed, but not in shared_preload_libraries
        return [CheckResult("HS814", Outcome.NOT_EVALUATED, "pg_stat_statements", e.diag.message_primary or str(e))]
    spec = registry.spec("HS814")
    results = []
    for row in (s for s in by_mean if float(s["mean_ms"]) > thresholds.statement_warn_ms):
        critical = float(row["mean_ms"]) > thresholds.statement_critical_ms
        outcome = Outcome.FAILED if critical else Outcome.WARNED
        level = f"over {thresholds.statement_critical_ms:g} ms" if critical else \
            f"over {thresholds.statement_warn_ms:g} ms"
        results.append(CheckResult("HS814", outcome, f"query {row['queryid']}", (
            f"mean {row['mean_ms']} ms ({level}) over {row['calls']} calls: {row['query']}; fix: {spec.remedy}"),
            {**row, "schema": schema}))
    summary = CheckResult("HS814", Outcome.PASSED, "statements", (
        f"slowest statements listed ({len(by_mean)} by mean, {len(by_total)} by total time); "
        f"alert levels {thresholds.statement_warn_ms:g} / {thresholds.statement_critical_ms:g} ms"),
        {"by_mean": by_mean, "by_total": by_total, "schema": schema})
    return [*results, summary]
