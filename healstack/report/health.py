"""The health report, reports/<run id>/health.md and a section of the sign-off report: every table's rows and
size with the change since the previous run that took the inventory, the findings with their thresholds (the
lints' index findings too), and the stack's query plans. Read from the results stream, like every output."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from healstack.health import size
from healstack.redact import redact
from healstack.report.stream import RunData, load

INDEX_LINTS = ("HS412", "HS413", "HS416")  # the lints' index findings belong in a health report too


@dataclass
class HealthView:
    tables: list[dict[str, Any]]   # table, rows, total_bytes, and the change since the previous inventory
    previous_run: str | None
    findings: list[dict[str, Any]] = field(default_factory=list)
    plans: list[dict[str, Any]] = field(default_factory=list)


def _inventory(records: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    found = [r for r in records if r["check_id"] == "HS800" and r["phase"] == "health"]
    return [dict(t) for t in found[0]["evidence"].get("tables", [])] if found else None


def _previous(data: RunData) -> tuple[str, list[dict[str, Any]]] | None:
    """The latest earlier run in the same reports folder that took the inventory of the same target (an embedded
    default is a new server each run: nothing to compare with)."""
    earlier = sorted((p.parent for p in data.directory.parent.glob("*/results.jsonl")
                      if p.parent.name < data.directory.name), reverse=True)
    for directory in earlier:
        try:
            earlier_run = load(directory)
        except (OSError, ValueError):  # a damaged or half-written run: not a baseline
            continue
        tables = _inventory(earlier_run.records)
        if tables is not None and earlier_run.identity.get("target") == data.identity.get("target"):
            return directory.name, tables
    return None


def view(data: RunData) -> HealthView | None:
    """The health section's data; None when the run did not check health."""
    tables = _inventory(data.records)
    if tables is None:
        return None
    previous = _previous(data)
    before = {t["table"]: t for t in previous[1]} if previous else {}
    for table in tables:
        old = before.get(table["table"])
        table["rows_change"] = None if old is None else int(table["rows"]) - int(old["rows"])
        table["bytes_change"] = None if old is None else int(table["total_bytes"]) - int(old["total_bytes"])
    findings = [r for r in data.records if r["outcome"] in ("failed", "error", "warned", "not_evaluated")
                and (r["phase"] == "health" or r["check_id"] in INDEX_LINTS)]
    plans = [r for r in data.records if r["check_id"] == "HS815" and r["evidence"].get("plan")]
    return HealthView(tables, previous[0] if previous else None, findings, plans)


def _change(value: int | None, compared: bool, bytes_: bool = False) -> str:
    if not compared:
        return "-"
    if value is None:
        return "new"
    return ("+" if value > 0 else "") + (size(value) if bytes_ else str(value)) if value else "="


def write(data: RunData, health: HealthView | None) -> Path | None:
    """reports/<run id>/health.md (None when the run did not check health)."""
    if health is None:
        return None
    since = f"change since run {health.previous_run}" if health.previous_run else "no earlier run to compare with"
    lines = [f"# Database health, run {data.run_id}", "", f"Target: {data.identity.get('target')}", "",
             f"## Tables ({since})", "", "| table | rows (estimate) | change | size | change |",
             "|---|---|---|---|---|"]
    compared = health.previous_run is not None
    lines += [f"| {t['table']} | {t['rows']} | {_change(t['rows_change'], compared)} | "
              f"{size(int(t['total_bytes']))} | {_change(t['bytes_change'], compared, bytes_=True)} |"
              for t in health.tables]
    lines += ["", "## Findings", ""]
    lines += [f"- **{r['outcome']}** `{r['check_id']}` {r['object']}: {r['message']}" for r in health.findings] \
        or ["Every audit passed."]
    lines += ["", "## The stack's access paths", ""]
    for plan in health.plans:
        lines += [f"### {plan['object']} ({plan['outcome']}: {plan['message']})", "", "```sql",
                  str(plan["evidence"].get("sql", "")).strip(), "```", "", "```", *plan["evidence"]["plan"], "```", ""]
    path = data.directory / "health.md"
    path.write_text(redact("\n".join(lines) + "\n"), encoding="utf-8")
    return path
