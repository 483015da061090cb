"""`healstack etl pull|backfill|metrics`: bad input is one line and a non-zero exit, never a traceback."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from healstack.config import Settings
from healstack.db import connect
from healstack.errors import ConfigError, HealstackError
from healstack.etl.loader import Counts
from healstack.etl.run import run_source
from healstack.etl.sources import TORONTO, Window
from healstack.etl.sources.events import EventsSource
from healstack.etl.sources.meta import MetaSource
from healstack.etl.sources.shopify import ShopifySource
from healstack.etl.sources.tiktok import TikTokSource
from healstack.redact import redact
from healstack.target import open_target

SOURCES: dict[str, Callable[[], Any]] = {"events": EventsSource.from_env, "source-a": MetaSource.from_env,
                                         "source-b": TikTokSource.from_env, "shopify": ShopifySource.from_env}


def _date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as e:
        raise ConfigError(f"{name}={value!r} is not a date (YYYY-MM-DD)") from e


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="healstack etl", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    pull = sub.add_parser("pull", help="pull one source (or all) into the target")
    pull.add_argument("source", choices=[*SOURCES, "all"])
    pull.add_argument("--since", help="first day, America/Toronto (default: yesterday)")
    pull.add_argument("--until", help="last day (default: today)")
    pull.add_argument("--dry-run", action="store_true",
                      help="fetch and validate, print what would change, write nothing")
    sub.add_parser("backfill", help="pull BACKFILL_SOURCES for BACKFILL_START..BACKFILL_END (needs RUN_BACKFILL=true)")
    metrics = sub.add_parser("metrics", help="recompute metrics_daily for a range of days")
    metrics.add_argument("--from", dest="start", required=True)
    metrics.add_argument("--to", dest="end", required=True)
    return parser


def _bar(name: str, stream: TextIO) -> Callable[[Counts], None]:
    """A progress bar on a terminal: the share of the window read (where the source knows it), pages, rows."""
    def show(counts: Counts) -> None:
        done = counts.progress
        bar = "" if done is None else f" [{'#' * round(done * 30):-<30}] {done:4.0%}"
        stream.write(f"\r{name}{bar} {counts.pages} pages, {counts.fetched:,} rows")
        stream.flush()
    return show


def _pull(dsn: str, names: list[str], window: Window, dry_run: bool, progress: bool, pooler: str | None) -> None:
    progress = progress and sys.stderr.isatty()  # a log file gets the summary lines, not carriage returns
    for name in names:
        source = SOURCES[name]()
        try:
            result = run_source(dsn, source, window, dry_run=dry_run,
                                progress=_bar(name, sys.stderr) if progress else None, pooler=pooler)
        finally:
            source.client.close()
        if progress:
            print(file=sys.stderr)
        c = result.counts
        verb = "would insert" if dry_run else "inserted"
        print(f"{name} -> {source.table}: {c.pages} pages, {c.fetched} rows fetched; {verb} {c.inserted}, "
              f"{'would update' if dry_run else 'updated'} {c.updated}, unchanged {c.unchanged}"
              + (f"; {result.failed_attempts} failed attempts retried" if result.failed_attempts else "")
              + (f"; metrics rows written {result.metrics_rows}" if result.metrics_rows else ""))
        for warning in c.warnings:
            print(f"warning: {warning}")
        for note in result.notes:
            print(f"note: {note}")
        if result.facts:
            print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in result.facts.items()))


@dataclass(frozen=True)
class Plan:
    """What a command will do, validated before any server starts or any source is called."""

    names: list[str]
    window: Window
    dry_run: bool = False
    progress: bool = False
    metrics_only: bool = False


def _plan(args: argparse.Namespace, today: date) -> Plan:
    if args.command == "pull":
        until = _date(args.until, "--until") if args.until else today
        since = _date(args.since, "--since") if args.since else until - timedelta(days=1)
        if since > until:
            raise ConfigError(f"--since {since} is after --until {until}")
        return Plan(list(SOURCES) if args.source == "all" else [args.source], Window(since, until), args.dry_run)
    if args.command == "backfill":
        if os.environ.get("RUN_BACKFILL", "").lower() != "true":
            raise ConfigError("backfill runs only with RUN_BACKFILL=true")
        names = [n.strip().replace("_", "-") for n in os.environ.get("BACKFILL_SOURCES", "").split(",") if n.strip()]
        unknown = [n for n in names if n not in SOURCES]
        if not names or unknown:
            raise ConfigError(f"BACKFILL_SOURCES must list some of {', '.join(SOURCES)}; got {unknown or 'none'}")
        window = Window(_date(os.environ.get("BACKFILL_START", ""), "BACKFILL_START"),
                        _date(os.environ.get("BACKFILL_END", ""), "BACKFILL_END"))
        if window.since > window.until:
            raise ConfigError(f"BACKFILL_START {window.since} is after BACKFILL_END {window.until}")
        return Plan(names, window, progress=True)
    start, end = _date(args.start, "--from"), _date(args.end, "--to")
    if start > end:
        raise ConfigError(f"--from {start} is after --to {end}")
    return Plan([], Window(start, end), metrics_only=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.for_cli()
        plan = _plan(args, datetime.now(ZoneInfo(TORONTO)).date())
        with open_target(settings, migrated=True) as target:
            if plan.metrics_only:
                with connect(target.dsn, autocommit=True) as conn:
                    row = conn.execute("select public.recompute_metrics_daily(%s, %s)",
                                       [plan.window.since, plan.window.until]).fetchone()
                print(f"metrics_daily: {row[0] if row else 0} rows written for "
                      f"{plan.window.since}..{plan.window.until}")
            else:
                _pull(target.dsn, plan.names, plan.window, plan.dry_run, plan.progress, settings.pooler)
    except HealstackError as e:
        print(f"etl: error: {redact(str(e))}", file=sys.stderr)
        return e.exit_code
    except Exception as e:  # a bug, not bad input: still one line unless asked for the trace
        if os.environ.get("HEALSTACK_DEBUG"):
            raise
        print(f"etl: internal error: {redact(f'{type(e).__name__}: {e}')}", file=sys.stderr)
        return 70
    return 0
