"""One run of one source: lock, read the cursor, load page by page, recompute affected metrics, ledger."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import psycopg
from psycopg import sql

from healstack.db import connect
from healstack.etl.http import SourceError
from healstack.etl.loader import SPECS, Counts, Loader, load_cursor, lock_source, save_cursor
from healstack.etl.metrics import drain, interrupt_stale
from healstack.etl.sources import BadRecord, Page, Source, Window
from healstack.pooler import refuse_transaction_pooler
from healstack.redact import redact

Progress = Callable[[Counts], None]


@dataclass
class RunResult:
    source: str
    dry_run: bool
    counts: Counts
    run_id: int | None = None
    days: tuple[date, date] | None = None
    failed_attempts: int = 0
    metrics_rows: int = 0
    notes: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)  # what the source says about how it read (version, ...)


def run_source(dsn: str, source: Source, window: Window, *, dry_run: bool = False,
               progress: Progress | None = None, pooler: str | None = None) -> RunResult:
    """Load one source's window. ``pooler`` is the configured connection path (detected when None): a run
    that writes refuses a transaction pooler, where its lock would not hold."""
    spec = SPECS[source.table]
    counts = Counts()
    if not dry_run:
        refuse_transaction_pooler(dsn, f"the ETL ({source.name})", pooler)
    with connect(dsn, autocommit=True) as conn:
        # staging tables live in local buffers; Postgres's default 8MB would spill a 50,000-row page to disk
        conn.execute("set temp_buffers = '64MB'")
        interrupted, mended, mended_rows = 0, None, 0
        if not dry_run:
            lock_source(conn, source.name)
            interrupted = interrupt_stale(conn, source.name)
            mended, mended_rows = drain(conn)  # days a killed run left recorded
        cursor = load_cursor(conn, source.name)
        run_id = None
        if not dry_run:
            row = conn.execute("insert into public.etl_runs (source, window_start, window_end) values"
                               " (%s, %s::date, %s::date) returning id",
                               [source.name, window.since, window.until]).fetchone()
            run_id = row[0] if row else None
        started = time.perf_counter()
        result = RunResult(source.name, dry_run, counts, run_id)
        if interrupted:
            result.notes.append(f"{interrupted} earlier runs of {source.name} were killed or crashed: marked "
                                "interrupted")
        if mended:
            result.notes.append(f"metrics_daily recomputed for {mended[0]}..{mended[1]}, left stale by an "
                                "earlier run")
        result.metrics_rows += mended_rows
        loader: Loader | None = None
        try:
            # the helper connection splits long first-load pages with this one (same target, same role)
            loader = Loader.for_window(conn, spec, window.since, window.until, helper=lambda: connect(dsn))
            for page in checked_pages(source, window, cursor):
                counts.pages += 1
                counts.fetched += len(page.rows)
                counts.warnings += [w for w in page.warnings if w not in counts.warnings]
                counts.progress = page.progress
                try:
                    with conn.transaction(force_rollback=dry_run):
                        inserted, updated, unchanged = (loader.load(page.rows, dry_run=dry_run) if page.rows
                                                        else (0, 0, 0))
                        counts.add(inserted, updated, unchanged)
                        if not dry_run:
                            save_cursor(conn, source.name, page.cursor)
                except (psycopg.errors.DataError, psycopg.errors.IntegrityError) as e:
                    raise payload_error(source.name, counts.pages, e) from None
                if progress:
                    progress(counts)
            if not dry_run:  # the days this run wrote were recorded with their rows: recompute and clear them
                if counts.inserted + counts.updated:
                    _analyze_if_grown(conn, spec.table, counts.inserted + counts.updated)
                result.days, written = drain(conn)
                result.metrics_rows += written
        except Exception as e:
            _finish(conn, run_id, source, counts, started, "failed", redact(str(e)))
            raise
        finally:
            if loader is not None:
                loader.close()
        _finish(conn, run_id, source, counts, started, "succeeded", None)
        # publish this session's tuple counters now, not up to a second later: the ETL guardrails read them
        conn.execute("select pg_stat_force_next_flush()")
        result.failed_attempts = len(source.client.attempts)
        result.facts = dict(getattr(source, "facts", {}))
        return result


def checked_pages(source: Source, window: Window, cursor: dict[str, Any] | None) -> Iterator[Page]:
    """The source's pages; a record the source cannot turn into a row (a field missing, a value of the wrong
    shape) ends the run naming the source and page, before anything of that page is written."""
    pages = source.pages(window, cursor)
    number = 0
    while True:
        number += 1
        try:
            page = next(pages)
        except StopIteration:
            return
        except SourceError as e:  # the request for a later page failed: say which, and that the rest is kept
            if number == 1:
                raise
            head, _, tail = str(e).partition(": ")
            raise SourceError(f"{head}: page {number}: {tail}; earlier pages and their cursor are kept") from None
        except BadRecord as e:
            raise SourceError(f"{source.name}: page {number}: {e}; nothing of this page was written, earlier pages "
                              "and their cursor are kept") from None
        except KeyError as e:
            raise SourceError(f"{source.name}: page {number}: a record lacks the field {e}; nothing of this page "
                              "was written, earlier pages and their cursor are kept") from None
        except (TypeError, ValueError, AttributeError) as e:
            raise SourceError(f"{source.name}: page {number}: a record has a field of the wrong shape ({e}); nothing "
                              "of this page was written, earlier pages and their cursor are kept") from None
        yield page


def payload_error(source: str, page: int, error: psycopg.Error) -> SourceError:
    """A value the database refused (COPY names the column in its context line), as one line."""
    context = error.diag.context or ""
    column = error.diag.column_name or (context.split("column ", 1)[1].split(":", 1)[0] if "column " in context
                                        else None)
    where = f"field {column}" if column else "a row"
    return SourceError(f"{source}: page {page}: {where}: {error.diag.message_primary or error}; nothing of this "
                       "page was written, earlier pages and their cursor are kept")


def _analyze_if_grown(conn: psycopg.Connection[Any], table: str, written: int) -> None:
    """Refresh the planner's statistics of a table this run grew by a tenth or more (autovacuum's own
    threshold): the metrics recompute reads it next, and planned against the old row count it sorts a
    million-row first load on disk instead of hashing it (1.4 s against 0.6 s)."""
    target = sql.Identifier("public", table)
    row = conn.execute("select reltuples from pg_class where oid = %s::regclass", [target.as_string(conn)]).fetchone()
    known = max(row[0], 0) if row else 0   # -1: never analyzed
    if written >= 50 + 0.1 * known:
        conn.execute(sql.SQL("analyze {}").format(target))


def _finish(conn: psycopg.Connection[Any], run_id: int | None, source: Source, counts: Counts, started: float,
            status: str, error: str | None) -> None:
    if run_id is None:
        return
    failures = source.client.attempts
    detail = "; ".join(f"{a.failure} (waited {a.waited_s:.1f} s)" for a in failures[-5:])
    conn.execute(
        "update public.etl_runs set status = %(status)s, finished_at = now(), attempts = %(attempts)s,"
        " pages = %(pages)s, rows_fetched = %(fetched)s, rows_inserted = %(inserted)s,"
        " rows_updated = %(updated)s, rows_unchanged = %(unchanged)s, duration_ms = %(ms)s, error = %(error)s"
        " where id = %(id)s",
        {"status": status, "attempts": len(failures), "pages": counts.pages, "fetched": counts.fetched,
         "inserted": counts.inserted, "updated": counts.updated, "unchanged": counts.unchanged,
         "ms": int((time.perf_counter() - started) * 1000),
         "error": error or (f"{len(failures)} failed attempts retried: {detail}" if failures else None),
         "id": run_id})
