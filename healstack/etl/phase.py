"""The ETL phase of a run: the pull (the stack's sources with credentials, or their recorded pages on the embedded
default, labelled as such), then the guardrails read from the target's run ledger: every source's last run
succeeded, and its data is within its freshness threshold."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from healstack.context import Context
from healstack.db import connect
from healstack.errors import HealstackError
from healstack.etl import guardrails
from healstack.etl.fixtures import stand_in
from healstack.etl.run import RunResult, run_source
from healstack.etl.sources import TORONTO, Window
from healstack.etl.stack import DeclaredSource, Pullable, pullable
from healstack.results import CheckResult, Outcome

# How far back a rehearsal pulls: the recorded pages end yesterday; a real source's last week is re-read
# (restated numbers included) without a backfill.
DAYS = 7


def _source(item: Pullable, now: datetime) -> Any:
    if item.stand_in:
        assert item.source.fixtures is not None
        return stand_in(item.source.name, item.source.fixtures, os.environ.get("ETL_PROJECT", "default"), now)
    from healstack.etl.cli import SOURCES  # the real sources, configured from the environment
    return SOURCES[item.source.name]()


def pull_one(ctx: Context, item: Pullable, now: datetime | None = None,
             dry_run: bool = False) -> tuple[str, RunResult | None]:
    """Pull one source's last days; (what happened, the run's result or None when it failed)."""
    moment = now or datetime.now(UTC)
    today = moment.astimezone(ZoneInfo(TORONTO)).date()
    try:
        source = _source(item, moment)
        try:
            result = run_source(ctx.dsn, source, Window(today - timedelta(days=DAYS), today), dry_run=dry_run,
                                pooler=ctx.settings.pooler)
        finally:
            source.client.close()
    except HealstackError as e:
        return str(e), None
    c = result.counts
    return (f"{c.pages} pages, {c.fetched} rows: {c.inserted} inserted, {c.updated} updated, {c.unchanged} "
            f"unchanged; metrics rows written {result.metrics_rows}"), result


def pull(ctx: Context, embedded: bool, environ: Mapping[str, str] | None = None) -> list[CheckResult]:
    """For each source the run can pull: HS700 pulled (with counts) or not (with the error); then, from the
    same moment (so recorded pages come back with the same dates), HS703 a dry run writes nothing and HS704
    the same pull again writes nothing."""
    results, moment = [], datetime.now(UTC)
    for item in pullable(ctx.settings, embedded, environ):
        message, result = pull_one(ctx, item, moment)
        evidence = {"source": item.source.name, "fixture_served": item.stand_in,
                    "fixtures": str(item.source.fixtures) if item.stand_in else None,
                    **(result.facts if result is not None else {})}
        outcome = Outcome.PASSED if result is not None else Outcome.FAILED
        results.append(CheckResult("HS700", outcome, item.label, message, evidence))
        if result is None:
            continue

        def again(source: Pullable, dry_run: bool) -> tuple[str, RunResult | None]:
            return pull_one(ctx, source, moment, dry_run)
        results += [guardrails.dry_run_writes_nothing(ctx, item, again),
                    guardrails.rerun_writes_nothing(ctx, item, again)]
    return results


def _ledger(ctx: Context) -> dict[str, dict[str, Any]]:
    """Per source: its last run, and when its last successful run finished."""
    with connect(ctx.dsn, autocommit=True) as conn:
        exists = conn.execute("select to_regclass('public.etl_runs') is not null").fetchone()
        if not (exists and exists[0]):
            return {}
        rows = conn.execute(
            "select distinct on (source) source, status, error, started_at,"
            " (select max(finished_at) from public.etl_runs as s where s.source = r.source"
            "  and s.status = 'succeeded' and not s.dry_run) as fresh_at, now()"
            " from public.etl_runs as r where not dry_run order by source, started_at desc").fetchall()
    return {r[0]: {"status": r[1], "error": r[2], "started_at": r[3], "fresh_at": r[4], "now": r[5]} for r in rows}


def source_checks(ctx: Context, sources: list[DeclaredSource]) -> list[CheckResult]:
    """HS701 (the last run succeeded) and HS702 (fresh) for each source."""
    ledger, results = _ledger(ctx), []
    for source in sources:
        last = ledger.get(source.name)
        if last is None:
            results.append(CheckResult("HS701", Outcome.FAILED, source.name, "no run of this source is recorded"))
            continue
        ok = last["status"] == "succeeded"
        results.append(CheckResult("HS701", Outcome.PASSED if ok else Outcome.FAILED, source.name,
                                   f"last run {last['status']}" + ("" if ok else f": {last['error'] or ''}"),
                                   {"status": last["status"], "started_at": str(last["started_at"])}))
        fresh_at = last["fresh_at"]
        age = (last["now"] - fresh_at).total_seconds() / 3600 if fresh_at else None
        stale = age is None or age > source.freshness_hours
        results.append(CheckResult(
            "HS702", Outcome.FAILED if stale else Outcome.PASSED, source.name,
            "no successful run" if age is None else f"last successful run {age:.1f} h ago "
            f"(at most {source.freshness_hours:g} h)", {"age_hours": age, "threshold_hours": source.freshness_hours}))
    return results

