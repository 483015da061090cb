"""Derived data that survives a crash: every transaction that writes spend or orders rows records their days
in etl_dirty_days, and every run recomputes metrics_daily for the recorded days and clears them in one
transaction. A process killed between a page's commit and the recompute leaves the days recorded, so the
next run (of any source) mends them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

TORONTO = ZoneInfo("America/Toronto")


def spend_day(row: dict[str, Any]) -> str:
    """The day a spend row counts on: the platform's own reporting day."""
    return str(row["dt"])[:10]


def order_day(row: dict[str, Any]) -> str:
    """The day an order counts on: the Toronto day it was placed, as recompute_metrics_daily counts it."""
    return datetime.fromisoformat(str(row["placed_at"])).astimezone(TORONTO).date().isoformat()


def mark_dirty(conn: psycopg.Connection[Any], days: Iterable[str]) -> None:
    """Record days whose metrics are stale, in the caller's transaction (the one writing their rows)."""
    found = sorted(set(days))
    if found:
        conn.execute("insert into public.etl_dirty_days (day) select unnest(%s::date[]) on conflict do nothing",
                     [found])


def _ranges(days: list[date]) -> Iterator[tuple[date, date]]:
    """Consecutive days as (first, last) ranges: one recompute per run of days."""
    start = previous = None
    for day in sorted(days):
        if previous is not None and day == previous + timedelta(days=1):
            previous = day
            continue
        if start is not None and previous is not None:
            yield start, previous
        start = previous = day
    if start is not None and previous is not None:
        yield start, previous


def drain(conn: psycopg.Connection[Any]) -> tuple[tuple[date, date] | None, int]:
    """Recompute metrics_daily for every recorded day and clear them, in one transaction: (first and last
    day recomputed, rows written). Two runs draining at once: the second finds the days already taken."""
    with conn.transaction():
        days = [row[0] for row in conn.execute("delete from public.etl_dirty_days returning day")]
        written = 0
        for first, last in _ranges(days):
            row = conn.execute("select public.recompute_metrics_daily(%s, %s)", [first, last]).fetchone()
            written += int(row[0]) if row else 0
    return ((min(days), max(days)) if days else None), written


def interrupt_stale(conn: psycopg.Connection[Any], source: str) -> int:
    """Mark the source's runs still 'running' as interrupted: the caller holds the source's lock, so no
    process of theirs is alive. Returns how many."""
    cur = conn.execute("update public.etl_runs set status = 'interrupted', finished_at = now(),"
                       " error = 'the process ended before the run finished (killed or crashed)'"
                       " where source = %s and status = 'running'", [source])
    return cur.rowcount
