"""What a run leaves behind: reports/<run id>/results.jsonl (every record, redacted) and run.json (the run's
identity), and the summary printed at the end of a run. Reports, tickets and notifications read these."""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from healstack import __version__
from healstack.redact import redact
from healstack.registry import Phase
from healstack.results import Outcome, counts, describe_counts
from healstack.run import Record, Run

RESULTS = "results.jsonl"


def _json(data: Any) -> str:
    return redact(json.dumps(data, default=str, sort_keys=True))


def run_identity(run: Run, exit_status: int) -> dict[str, Any]:
    """Who ran what, where and when; never a secret (the target's DSN is shown with its password masked)."""
    target = run.target_description()
    return {"run_id": run.id, "healstack_version": __version__, "started": run.started.isoformat(),
            "finished": datetime.now(UTC).isoformat(), "host": socket.gethostname(),
            "user": os.environ.get("USER") or os.environ.get("LOGNAME") or str(os.getuid()),
            "target": target, "exit_status": exit_status,
            "phase_seconds": {p.value: round(s, 3) for p, s in sorted(run.durations.items(), key=lambda i: i[0].order)},
            "counts": {o.value: n for o, n in counts(r.result for r in run.records).items()}}


def write_results(run: Run, exit_status: int) -> Path:
    """reports/<run id>/results.jsonl and run.json; returns the results file."""
    run.directory.mkdir(parents=True, exist_ok=True)
    path = run.directory / RESULTS
    with path.open("w", encoding="utf-8") as f:
        for record in run.records:
            f.write(_json(record.to_dict(run.id)) + "\n")
    (run.directory / "run.json").write_text(_json(run_identity(run, exit_status)) + "\n", encoding="utf-8")
    return path


def by_phase(records: list[Record]) -> dict[Phase, list[Record]]:
    grouped: dict[Phase, list[Record]] = {}
    for record in sorted(records, key=lambda r: r.phase.order):
        grouped.setdefault(record.phase, []).append(record)
    return grouped


def summary_lines(run: Run) -> list[str]:
    """The end-of-run summary: counts per phase, then every warning and every check not evaluated."""
    lines = [f"run {run.id} on {run.target_description()}"]
    for phase, records in by_phase(run.records).items():
        lines.append(f"  {phase.value:<10} {describe_counts(counts(r.result for r in records))}")
        lines += [f"  {'':<10} {r.result.message}" for r in records if r.result.check_id == "HS100"]
    for outcome, title in ((Outcome.WARNED, "warnings"), (Outcome.NOT_EVALUATED, "not evaluated")):
        listed = [r for r in run.records if r.result.outcome is outcome]
        if listed:
            lines.append(f"{title} ({len(listed)}):")
            lines += [f"  {r.result.check_id} {r.result.object}: {r.result.message}" for r in listed]
    return [redact(line) for line in lines]
