"""Summaries of a run for people and machines: the lines printed at its end, reports/<run id>/run_summary.md, and
the day's reports/run_summary_<YYYY-MM-DD>.md over every run of that day (what passed, failed, healed, ticketed,
with the report's and tickets' paths)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from healstack.redact import redact
from healstack.report.stream import IDENTITY, RunData, load
from healstack.results import Outcome, describe_counts

ORDER = [Outcome.FAILED, Outcome.ERROR, Outcome.WARNED, Outcome.NOT_EVALUATED, Outcome.PASSED]


def _counts(records: list[dict[str, Any]]) -> dict[Outcome, int]:
    return {o: sum(r["outcome"] == o for r in records) for o in Outcome}


def verdict(data: RunData) -> str:
    return "FAILED" if data.failed else "PASSED"


def console_lines(data: RunData) -> list[str]:
    """The end-of-run summary: counts per phase, every warning and every check not evaluated, then what was
    written and sent."""
    lines = [f"run {data.run_id} on {data.identity.get('target')}: {verdict(data)}"]
    for phase, records in data.by_phase().items():
        lines.append(f"  {phase.value:<10} {describe_counts(_counts(records))}")
        lines += [f"  {'':<10} {r['message']}" for r in records if r["check_id"] == "HS100"]
    for outcome, heading in ((Outcome.WARNED, "warnings"), (Outcome.NOT_EVALUATED, "not evaluated")):
        listed = data.with_outcome(outcome)
        if listed:
            lines.append(f"{heading} ({len(listed)}):")
            lines += [f"  {r['check_id']} {r['object']}: {r['message']}" for r in listed]
    outputs = data.outputs
    changes = {k: v for k, v in outputs.get("tickets", {}).items() if v}
    lines.append(("tickets: " + ", ".join(f"{len(v)} {k}" for k, v in changes.items()) if changes
                  else "tickets: no change") + f" in {outputs.get('backlog')}")
    for note in outputs.get("notifications", []):
        lines.append(f"notification: {note}")
    for name in ("summary", "preflight", "health", "results", "junit", "report"):
        if outputs.get(name):
            lines.append(f"{name}: {outputs[name]}")
    return [redact(line) for line in lines]


def _markdown(data: RunData, heading: str = "#") -> list[str]:
    identity, outputs = data.identity, data.outputs
    lines = [f"{heading} healstack run {data.run_id}: {verdict(data)}", "",
             f"- target: {identity.get('target')}", f"- started {identity.get('started')}, finished "
             f"{identity.get('finished')}, healstack {identity.get('healstack_version')}",
             f"- report: {outputs.get('report', '(none)')}", "",
             "| phase | " + " | ".join(o.value.replace("_", " ") for o in ORDER) + " |",
             "|---|" + "---|" * len(ORDER)]
    for phase, records in data.by_phase().items():
        tally = _counts(records)
        lines.append(f"| {phase.value} | " + " | ".join(str(tally[o]) for o in ORDER) + " |")
    failing = data.with_outcome(Outcome.FAILED, Outcome.ERROR)
    lines += ["", f"Failed ({len(failing)}):" if failing else "Nothing failed.", ""]
    lines += [f"- `{r['check_id']}` {r['object']}: {r['message']}" for r in failing]
    healed = outputs.get("healed", [])
    lines += ["", f"Healed ({len(healed)}):" if healed else "Nothing healed.", ""]
    lines += [f"- {h}" for h in healed]
    lines += ["", "Tickets:" if outputs.get("tickets") else "No ticket changed.", ""]
    for change, names in outputs.get("tickets", {}).items():
        lines += [f"- {change}: [{name}]({Path(str(outputs.get('backlog'))) / name})" for name in names]
    return lines


def write_run_summary(data: RunData) -> Path:
    path = data.directory / "run_summary.md"
    path.write_text(redact("\n".join(_markdown(data)) + "\n"), encoding="utf-8")
    return path


def write_preflight(data: RunData) -> Path | None:
    """reports/<run id>/preflight.md: each preflight check and what it found (None when preflight did not run)."""
    records = [r for r in data.records if r["phase"] == "preflight"]
    if not records:
        return None
    lines = [f"# Preflight of run {data.run_id}", "", f"Target: {data.identity.get('target')}", "",
             "| check | object | outcome | found |", "|---|---|---|---|"]
    lines += [f"| {r['check_id']} | {r['object']} | {r['outcome']} | {str(r['message']).replace('|', '/')} |"
              for r in records]
    path = data.directory / "preflight.md"
    path.write_text(redact("\n".join(lines) + "\n"), encoding="utf-8")
    return path


def write_daily_summary(reports_dir: Path, day: str) -> Path:
    """reports/run_summary_<day>.md: every run started that day (UTC), newest first, rebuilt from their streams."""
    runs = []
    for identity in sorted(reports_dir.glob(f"*/{IDENTITY}"), reverse=True):
        if identity.parent.name.startswith(day.replace("-", "")):
            try:
                runs.append(load(identity.parent))
            except (OSError, ValueError):  # a run being written right now, or damaged: left out
                continue
    lines = [f"# healstack runs of {day}", "", f"{len(runs)} runs, {sum(r.failed for r in runs)} failed.", ""]
    for run in runs:
        lines += [*_markdown(run, "##"), ""]
    path = reports_dir / f"run_summary_{day}.md"
    path.write_text(redact("\n".join(lines)), encoding="utf-8")
    return path
