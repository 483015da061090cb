"""Benchmarks (`nox -s bench`): each writes a Markdown table to reports/bench/; speed is never a test."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from healstack.redact import redact

# Benchmarks load tables of hundreds of MB; with the throwaway server's 128MB of shared buffers every scan
# would measure the OS page cache through Postgres 18's I/O workers instead of the query. A quarter of
# this machine's memory is the usual production sizing. Autovacuum is off so that a measure does not share
# two cores with the vacuum of what the previous measure loaded; benchmarks vacuum and checkpoint
# explicitly between phases (settle()).
BENCH_SERVER = {"shared_buffers": "1GB", "autovacuum": "off"}


def settle(conn: Any) -> None:
    """Write out the dirty buffers of what was loaded so far, before the next measure starts."""
    conn.execute("checkpoint")


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def median_of(n: int, fn: Callable[[], float]) -> tuple[float, list[float]]:
    """Median and all samples of ``n`` runs of ``fn``, which returns its own measured seconds."""
    samples = [fn() for _ in range(n)]
    return statistics.median(samples), samples


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def write_report(reports_dir: Path, name: str, title: str, lines: list[str]) -> Path:
    path = reports_dir / "bench" / f"{name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    path.write_text(f"# {title}\n\nMeasured {stamp} on {machine()}.\n\n" + "\n".join(lines) + "\n")
    return path


def run_side(variable: str, script: str, *args: str) -> dict[str, Any] | str:
    """Run ``healstack/bench/side/<script>`` under the interpreter of the side environment named by the
    environment variable (`nox -s bench` installs each compared tool in one): the JSON it prints, or why
    there is none, as a phrase for the report."""
    python = os.environ.get(variable)
    if not python:
        return "not measured in this run (no side environment; `nox -s bench` makes one)"
    done = subprocess.run([python, str(Path(__file__).with_name("side") / script), *args],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return f"the side run failed ({redact((done.stderr.strip().splitlines() or ['no output'])[-1])})"
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
