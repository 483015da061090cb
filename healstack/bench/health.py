"""Health benchmark: what the health phase adds to a rehearsal on the embedded default (the whole rehearsal with
and without it, and the phase's own seconds from run.json), and the phase on the realistic dataset."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from healstack.bench import median_of, timed, write_report
from healstack.config import Settings
from healstack.context import Context
from healstack.db import connect, create_database
from healstack.embedded import EmbeddedServer, default_bindir
from healstack.health.phase import health
from healstack.migrate.runner import apply

TARGET_S = 5.0
RUNS = 3


def _rehearsal(reports: Path, *pytest_args: str) -> tuple[float, float]:
    """One `healstack rehearsal` on the embedded default: its wall seconds and the health phase's own."""
    done: list[subprocess.CompletedProcess[str]] = []
    seconds = timed(lambda: done.append(subprocess.run(
        [sys.executable, "-m", "healstack", "--reports", str(reports), "rehearsal", *pytest_args],
        capture_output=True, text=True, check=False)))
    latest = max(reports.glob("*/run.json"), key=lambda p: p.stat().st_mtime)
    phase = float(json.loads(latest.read_text()).get("phase_seconds", {}).get("health", 0.0))
    return seconds, phase


def run(settings: Settings) -> Path:
    with tempfile.TemporaryDirectory(prefix="healstack-bench-") as scratch:
        reports = Path(scratch)
        without, with_health, phase = [], [], []
        for _ in range(RUNS):  # interleaved, so a busy moment does not land on one side only
            without.append(_rehearsal(reports, "-m", "not health")[0])
            whole, own = _rehearsal(reports)
            with_health.append(whole)
            phase.append(own)
    server = EmbeddedServer(settings.pg_bindir or default_bindir()).start()
    try:
        dsn = create_database(server.dsn(), "bench_health")
        apply(dsn, settings)
        with connect(dsn, autocommit=True) as conn:
            load = timed(lambda: conn.execute((settings.root / "fixtures" / "health_dataset.sql").read_bytes()))
        on_dataset, samples = median_of(RUNS, lambda: timed(lambda: health(Context(dsn, settings))))
    finally:
        server.stop()
    base, whole = sorted(without)[RUNS // 2], sorted(with_health)[RUNS // 2]
    own = sorted(phase)[RUNS // 2]
    lines = [
        "| measure | value | target |", "|---|---|---|",
        f"| `healstack rehearsal` on the embedded default without the health phase (`-m 'not health'`), "
        f"median of {RUNS} (the anchor) | {base:.2f} s | |",
        f"| the same with the health phase | {whole:.2f} s ({whole / base:.2f}x the anchor) | |",
        f"| the health phase's own seconds in those runs (run.json) | {own:.3f} s ({own / base:.3f}x the anchor) "
        f"| < {TARGET_S:.0f} s {'met' if own < TARGET_S else 'MISSED'} |",
        f"| the health phase on fixtures/health_dataset.sql (loaded in {load:.1f} s), median of {RUNS} "
        f"| {on_dataset:.2f} s ({', '.join(f'{s:.2f}' for s in samples)}) | |",
        "",
        "The two rehearsals differ by more than the phase's own seconds only by noise: each starts its own server.",
    ]
    return write_report(settings.reports_dir, "health", "Health benchmark", lines)


def main() -> None:
    print(run(Settings.for_cli()).read_text())
