"""The sign-off report, reports/<run id>/index.html: one self-contained, print-friendly page rendered with Jinja2
from the results stream (pytest-html's per-test rows cannot group by phase, show the runbook's evidence or carry
a sign-off block; and the report must be renderable again from a run's files alone)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from healstack.health import size
from healstack.redact import redact
from healstack.report import health
from healstack.report.evidence import blocks, remedy
from healstack.report.stream import RunData
from healstack.report.summary import ORDER, verdict
from healstack.results import Outcome

LOG_LINES = 400


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("healstack.report", "templates"), autoescape=select_autoescape(["j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.globals.update(blocks=blocks, remedy=remedy, order=ORDER, size=size,
                       tally=lambda records: {o: sum(r["outcome"] == o for r in records) for o in Outcome})
    return env


def _status_rows(migrations: dict[str, Any]) -> list[tuple[dict[str, str] | None, dict[str, str]]]:
    before = {row["version"]: row for row in migrations.get("before", [])}
    return [(before.get(row["version"]), row) for row in migrations.get("after", [])]


def _apply_log(data: RunData) -> list[str]:
    path = data.directory / "apply" / "apply.log"
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return lines[:LOG_LINES] + ([f"... {len(lines) - LOG_LINES} more lines in {path}"] if len(lines) > LOG_LINES
                                else [])


def _relative(start: Path, target: Path) -> str:
    """A link from the report to the backlog that survives moving reports/ and backlog/ together."""
    try:
        return os.path.relpath(target, start)
    except ValueError:
        return target.as_uri()


def render(data: RunData, health_view: health.HealthView | None = None) -> Path:
    """Write index.html for the run; returns its path."""
    identity = {**data.identity, "migrations": data.identity.get("migrations") or {},
                "connection": data.identity.get("connection") or {},
                "phase_seconds": data.identity.get("phase_seconds") or {}}
    html = _environment().get_template("index.html.j2").render(
        run=data, identity=identity, outputs=data.outputs, verdict=verdict(data), phases=list(data.by_phase().items()),
        failing=data.with_outcome(Outcome.FAILED, Outcome.ERROR), warned=data.with_outcome(Outcome.WARNED),
        not_evaluated=data.with_outcome(Outcome.NOT_EVALUATED), passed=len(data.with_outcome(Outcome.PASSED)),
        status_rows=_status_rows(identity["migrations"]), apply_log=_apply_log(data), health=health_view,
        backlog_href=_relative(data.directory, Path(str(data.outputs.get("backlog", "")))))
    path = data.directory / "index.html"
    path.write_text(redact(html), encoding="utf-8")
    return path
