"""The end of every run, whichever runner started it: the results stream, then the tickets, the notifications,
the sign-off report and the summaries, each reading the stream. An output that cannot be written is said, and
a run that otherwise passed then exits non-zero: nothing is lost silently."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

import psycopg

from healstack.backlog import tickets
from healstack.backlog.github import GitHubIssues
from healstack.errors import HealstackError
from healstack.notify import slack
from healstack.report import health, html, stream, summary
from healstack.report.stream import RunData
from healstack.results import ExitCode, Outcome
from healstack.run import Run


def _store_marks(run: Run) -> list[str]:
    """Incremental data quality's marks; failing to store them only means the next run checks those rows again."""
    try:
        run.store_marks()
    except (psycopg.Error, HealstackError) as e:
        return [f"data-quality marks NOT stored (the next run checks the same rows again): {e}"]
    return []


def finish(run: Run, exit_status: int, environ: Mapping[str, str] | None = None) -> tuple[RunData, int]:
    """Write everything a run leaves behind; returns the run as data and its exit status (raised from 0 to 2
    when tickets could not be written)."""
    env = os.environ if environ is None else environ
    started = time.perf_counter()
    data = stream.write(run, exit_status)
    data.outputs.update(results=str(data.directory / stream.RESULTS), report=str(data.directory / "index.html"),
                        backlog=str(run.settings.backlog_dir))
    data.outputs["healed"] = [r.message.removeprefix("healed: ") + f" ({r.object})" for r in run.heals
                              if r.outcome is Outcome.PASSED]
    if (data.directory / "junit.xml").exists():
        data.outputs["junit"] = str(data.directory / "junit.xml")
    notes: list[str] = []
    try:
        changes = tickets.sync(data, run.settings.backlog_dir, warnings=run.settings.warning_tickets)
        data.outputs["tickets"] = {c.value: [t.file_name for change, t in changes if change is c]
                                   for c in tickets.Change}
        sink = GitHubIssues.from_env(env)
        if sink is not None:
            notes += sink.sync(changes)
        if exit_status in (ExitCode.OK, ExitCode.FAILED):  # the run's results are recorded: its marks advance
            notes += _store_marks(run)
    except HealstackError as e:
        notes.append(f"tickets NOT written: {e}")
        exit_status = exit_status or int(ExitCode.BAD_INPUT)
    notes.append(slack(data, env))
    data.outputs["notifications"] = notes
    health_view = health.view(data)
    html.render(data, health_view)
    preflight = summary.write_preflight(data)
    if preflight is not None:
        data.outputs["preflight"] = str(preflight)
    health_md = health.write(data, health_view)
    if health_md is not None:
        data.outputs["health"] = str(health_md)
    data.outputs["summary"] = str(summary.write_run_summary(data))
    summary.write_daily_summary(run.settings.reports_dir, run.started.date().isoformat())
    data.identity["exit_status"] = exit_status
    data.outputs["seconds"] = round(time.perf_counter() - started, 3)  # what finishing added to the run
    stream.save_identity(data)
    return data, exit_status
