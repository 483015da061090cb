"""The ETL's guardrails against the target, beyond the run ledger (phase.py): a dry run writes nothing and an
identical re-run writes nothing, both proven by the database's own tuple counters (pg_stat_user_tables), not by
the loader's report; metrics_daily equals a recompute for the days the sources loaded; no natural key appears
twice. The first two pull again, so they run only in a run that pulled (a rehearsal, `healstack ingest`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import psycopg
from psycopg import sql

from healstack.context import Context
from healstack.db import connect
from healstack.etl.loader import SPECS
from healstack.etl.stack import Pullable
from healstack.results import CheckResult, Outcome
from healstack.sqlfiles import query

LEDGER = ("etl_runs", "etl_cursors", "etl_dirty_days")  # what a real run may write besides the data
Pull = Callable[[Pullable, bool], tuple[str, Any]]       # (item, dry_run) -> (what happened, RunResult or None)


def tuples_written(conn: psycopg.Connection[Any], tables: list[str]) -> dict[str, int]:
    """Rows inserted, updated and deleted in each table since the counters were last reset, as the server
    counts them (every session's writes, committed or not)."""
    rows = conn.execute("select c.relname, coalesce(s.n_tup_ins + s.n_tup_upd + s.n_tup_del, 0)"
                        " from pg_class as c left join pg_stat_all_tables as s on s.relid = c.oid"
                        " where c.relnamespace = 'public'::regnamespace and c.relname = any(%s)",
                        [tables]).fetchall()
    return {name: int(count) for name, count in rows}


def _written(ctx: Context, tables: list[str],
             act: Callable[[], tuple[str, Any]]) -> tuple[dict[str, int], str, Any]:
    """What ``act`` wrote to ``tables``, by the server's counters read before and after it."""
    with connect(ctx.dsn, autocommit=True) as conn:
        before = tuples_written(conn, tables)
        message, result = act()
        after = tuples_written(conn, tables)
    changed = {t: after.get(t, 0) - before.get(t, 0) for t in tables if after.get(t, 0) != before.get(t, 0)}
    return changed, message, result


def dry_run_writes_nothing(ctx: Context, item: Pullable, pull: Pull) -> CheckResult:
    """HS703: a dry run of the source changes no table the ETL writes, its ledger included."""
    table = item.source.table
    written, message, result = _written(ctx, [table, "metrics_daily", *LEDGER], lambda: pull(item, True))
    evidence: dict[str, Any] = {"source": item.source.name, "tuples_written": written,
                                "fixture_served": item.stand_in}
    if result is None:
        return CheckResult("HS703", Outcome.ERROR, item.label, f"the dry run failed: {message}", evidence)
    if written:
        return CheckResult("HS703", Outcome.FAILED, item.label, "a dry run wrote to the target: " + _list(written),
                           evidence)
    return CheckResult("HS703", Outcome.PASSED, item.label, f"a dry run read {result.counts.fetched} rows and the "
                       "server counted no tuple written", evidence)


def rerun_writes_nothing(ctx: Context, item: Pullable, pull: Pull) -> CheckResult:
    """HS704: the same window pulled again writes no data tuple, except rows the source itself changed in
    between (a real API restates today's figures; recorded pages never change)."""
    table = item.source.table
    written, message, result = _written(ctx, [table, "metrics_daily", "etl_dirty_days"], lambda: pull(item, False))
    evidence: dict[str, Any] = {"source": item.source.name, "tuples_written": written,
                                "fixture_served": item.stand_in}
    if result is None:
        return CheckResult("HS704", Outcome.ERROR, item.label, f"the re-run failed: {message}", evidence)
    changed = result.counts.inserted + result.counts.updated
    evidence["changed_at_source"] = changed
    if not written:
        return CheckResult("HS704", Outcome.PASSED, item.label, f"the re-run read {result.counts.fetched} rows and "
                           "the server counted no tuple written", evidence)
    if changed and not item.stand_in and written.get(table, 0) <= changed:
        return CheckResult("HS704", Outcome.PASSED, item.label, f"the re-run wrote only the {changed} rows the "
                           f"source changed since the pull ({_list(written)})", evidence)
    counted = f" (the loader counted {changed} rows as changed at the source)" if changed else ""
    return CheckResult("HS704", Outcome.FAILED, item.label, f"an identical re-run wrote {_list(written)}{counted}",
                       evidence)


def _list(written: dict[str, int]) -> str:
    return ", ".join(f"{n} tuples in {t}" for t, n in sorted(written.items()))


def loaded_days(conn: psycopg.Connection[Any]) -> tuple[date, date] | None:
    row = conn.execute("select min(window_start)::date, max(window_end)::date from public.etl_runs"
                       " where status = 'succeeded' and not dry_run").fetchone()
    return (row[0], row[1]) if row and row[0] else None


def metrics_match_recompute(ctx: Context) -> list[CheckResult]:
    """HS705: recompute metrics_daily for the loaded days in a transaction that is rolled back; the rows it
    would rewrite or remove are the days that disagree (an equal row is not rewritten, so nothing is written
    when all agree)."""
    with connect(ctx.dsn, autocommit=True) as conn:
        if not _has(conn, "metrics_daily") or not _has(conn, "etl_runs"):
            return [CheckResult("HS705", Outcome.NOT_EVALUATED, "public.metrics_daily",
                                "no metrics_daily or etl_runs table in this target")]
        days = loaded_days(conn)
        if days is None:
            return [CheckResult("HS705", Outcome.NOT_EVALUATED, "public.metrics_daily", "no source has loaded days")]
        try:
            with conn.transaction(force_rollback=True):
                row = conn.execute("select public.recompute_metrics_daily(%s, %s)", days).fetchone()
                rewritten = [str(r[0]) for r in conn.execute(query("healstack.etl", "metrics_rewritten"))]
        except psycopg.errors.InsufficientPrivilege as e:
            return [CheckResult("HS705", Outcome.NOT_EVALUATED, "public.metrics_daily",
                                f"cannot recompute metrics here: {e.diag.message_primary}")]
    count = row[0] if row else 0
    evidence = {"from": str(days[0]), "to": str(days[1]), "rows_disagreeing": count, "days": rewritten[:20]}
    if count:
        return [CheckResult("HS705", Outcome.FAILED, "public.metrics_daily", f"{count} rows of {days[0]}..{days[1]} "
                            "differ from a recompute" + (f" (days {', '.join(rewritten[:5])})" if rewritten else ""),
                            evidence)]
    return [CheckResult("HS705", Outcome.PASSED, "public.metrics_daily",
                        f"equal to a recompute for {days[0]}..{days[1]}", evidence)]


def natural_keys_unique(ctx: Context) -> list[CheckResult]:
    """HS706: each ETL table's natural key (the loader's upsert key) appears once."""
    results = []
    with connect(ctx.dsn, autocommit=True) as conn:
        for spec in SPECS.values():
            target = f"public.{spec.table}"
            if not _has(conn, spec.table):
                continue
            keys = sql.SQL(", ").join(map(sql.Identifier, spec.keys))
            found = conn.execute(sql.SQL("select {k}, count(*) from {t} group by {k} having count(*) > 1 limit 5")
                                 .format(k=keys, t=sql.Identifier("public", spec.table))).fetchall()
            evidence = {"table": target, "key": list(spec.keys), "examples": [[str(v) for v in r] for r in found]}
            if found:
                many = f"{len(found)}{'+' if len(found) == 5 else ''}"
                results.append(CheckResult("HS706", Outcome.FAILED, target, f"{many} natural keys "
                                           f"({', '.join(spec.keys)}) appear more than once", evidence))
            else:
                results.append(CheckResult("HS706", Outcome.PASSED, target,
                                           f"each ({', '.join(spec.keys)}) appears once", evidence))
    return results


def _has(conn: psycopg.Connection[Any], table: str) -> bool:
    row = conn.execute("select to_regclass(%s) is not null", [f"public.{table}"]).fetchone()
    return bool(row and row[0])
