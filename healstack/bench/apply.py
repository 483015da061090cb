"""Apply benchmark: cold start (server start + every migration) and per-test template clone time."""

from __future__ import annotations

import uuid
from functools import partial
from pathlib import Path

from psycopg import sql

from healstack.bench import median_of, timed, write_report
from healstack.config import Settings
from healstack.db import connect, create_database
from healstack.embedded import EmbeddedServer, default_bindir
from healstack.migrate.runner import apply

RUNS = 5
COLD_START_TARGET_S = 3.0
CLONE_TARGET_MS = 100.0


def _cold_start(bindir: Path, settings: Settings) -> float:
    server = EmbeddedServer(bindir)
    try:
        return timed(lambda: (server.start(), apply(server.dsn(), settings)))
    finally:
        server.stop()


def _clone_times(bindir: Path, settings: Settings) -> tuple[float, list[float]]:
    server = EmbeddedServer(bindir).start()
    try:
        template = create_database(server.dsn(), "bench_template")
        apply(template, settings)
        with connect(server.dsn(), autocommit=True) as conn:
            def clone() -> float:
                name = sql.Identifier(f"clone_{uuid.uuid4().hex[:12]}")
                seconds = timed(lambda: conn.execute(sql.SQL("create database {} template bench_template")
                                                     .format(name)))
                conn.execute(sql.SQL("drop database {}").format(name))
                return seconds
            return median_of(RUNS, clone)
    finally:
        server.stop()


def run(settings: Settings, bindirs: dict[str, Path]) -> Path:
    rows = ["| Postgres | cold start, median of 5 (s) | target | clone, median of 5 (ms) | target | samples |",
            "|---|---|---|---|---|---|"]
    for label, bindir in bindirs.items():
        cold, cold_samples = median_of(RUNS, partial(_cold_start, bindir, settings))
        clone, clone_samples = _clone_times(bindir, settings)
        cold_verdict = "met" if cold <= COLD_START_TARGET_S else "MISSED"
        clone_verdict = "met" if clone * 1000 <= CLONE_TARGET_MS else "MISSED"
        rows.append(
            f"| {label} | {cold:.2f} | <= {COLD_START_TARGET_S:.0f} {cold_verdict}"
            f" | {clone * 1000:.1f} | <= {CLONE_TARGET_MS:.0f} {clone_verdict}"
            f" | cold {', '.join(f'{s:.2f}' for s in cold_samples)}; clone "
            f"{', '.join(f'{s * 1000:.0f}' for s in clone_samples)} |")
    notes = ["", "Cold start = initdb + server start + `healstack apply` of every migration on a new "
             "embedded server (data dir in /dev/shm when present). Clone = `CREATE DATABASE ... TEMPLATE` "
             "of the migrated schema, what each test pays for its own database."]
    return write_report(settings.reports_dir, "apply", "Apply benchmark", rows + notes)


def main() -> None:
    settings = Settings.for_cli()
    bindirs = {"18 (embedded wheel)": default_bindir()}
    system = Path("/usr/lib/postgresql/15/bin")
    if (system / "postgres").exists():
        bindirs["15 (system)"] = system
    path = run(settings, bindirs)
    print(path.read_text())
