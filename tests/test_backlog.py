"""Failing checks become tickets that track themselves: written once per fingerprint however often the run
repeats, resolved when their check passes again, reopened on recurrence, never corrupted by two runs at once;
mirrored to GitHub issues and announced on Slack when something changed (both through respx only)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import httpx
import pytest
import respx
from repo import REPO

from healstack.backlog.github import GitHubIssues
from healstack.backlog.tickets import Change, load_all, sync
from healstack.db import connect
from healstack.notify import Poster, slack
from healstack.report.stream import RunData, load


def _rehearse(dsn: str, project: Path) -> subprocess.CompletedProcess[str]:
    """`healstack rehearsal` (what `nox -s rehearsal` runs) against the database, outputs in ``project``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEALSTACK_", "SLACK_", "GITHUB_"))}
    env.update(DATABASE_URL=dsn, HEALSTACK_BACKLOG_DIR=str(project / "backlog"))
    return subprocess.run([sys.executable, "-m", "healstack", "--reports", str(project / "reports"), "rehearsal",
                           "-m", "not rollback"], capture_output=True, text=True, env=env, cwd=REPO, timeout=300)


def _tickets(project: Path) -> dict[str, tuple[str, int]]:
    return {t.fingerprint: (t.status, t.occurrences) for t in load_all(project / "backlog").values()}


@pytest.mark.any_postgres  # the backlog's bookkeeping, not the server's: once, in the Postgres 18 run
def test_rehearsals_write_each_ticket_once_and_a_fix_resolves_exactly_its_ticket(migrated_db, tmp_path):
    with connect(migrated_db, autocommit=True) as conn:
        conn.execute("drop index public.idx_metrics_day")
        conn.execute("create table public.leaky (id int primary key)")
        conn.execute("insert into public.spend (project, platform, account_id, campaign_id, dt, spend)"
                     " values ('p', 'meta', 'a1', 'c1', current_date, 2000000)")
    first = _rehearse(migrated_db, tmp_path)
    assert first.returncode == 1, first.stdout + first.stderr
    [run] = (tmp_path / "reports").glob("*/results.jsonl")
    data = load(run.parent)
    failing = {f"{r['check_id']}:{r['object']}" for r in data.records if r["outcome"] in ("failed", "error")}
    assert _tickets(tmp_path) == dict.fromkeys(failing, ("open", 1))
    assert {"HS301:indexes public.idx_metrics_day", "HS302:relations public.leaky", "HS401:public.leaky",
            "spend.amount_plausible:public.spend.spend"} <= failing
    for name in ("index.html", "run_summary.md", "junit.xml"):
        assert (run.parent / name).exists(), name
    assert list((tmp_path / "reports").glob("run_summary_*.md"))
    for _ in range(2):
        assert _rehearse(migrated_db, tmp_path).returncode == 1
    # no duplicate, three occurrences; the incremental rule found its row once and, judging only new rows since,
    # keeps the ticket open without counting it again
    dq = "spend.amount_plausible:public.spend.spend"
    assert _tickets(tmp_path) == {**dict.fromkeys(failing, ("open", 3)), dq: ("open", 1)}
    assert len(list((tmp_path / "backlog").glob("READY_system_fix_*.md"))) == len(failing)
    with connect(migrated_db, autocommit=True) as conn:
        conn.execute("create index if not exists idx_metrics_day on public.metrics_daily (day)")
    fixed = _rehearse(migrated_db, tmp_path)
    assert fixed.returncode == 1 and "1 resolved" in fixed.stdout
    after = _tickets(tmp_path)
    assert after.pop("HS301:indexes public.idx_metrics_day") == ("resolved", 3)
    assert after == {**dict.fromkeys(failing - {"HS301:indexes public.idx_metrics_day"}, ("open", 4)), dq: ("open", 1)}


def test_an_incremental_pass_keeps_a_data_quality_ticket_open_and_a_full_pass_resolves_it(tmp_path):
    found = {"check_id": "spend.plausible", "object": "public.spend.spend", "phase": "dq", "outcome": "failed",
             "message": "1 violations", "evidence": {"mode": "incremental"}}
    sync(_run_data(tmp_path, [found]), tmp_path / "backlog")
    passed_new_rows = {**found, "outcome": "passed", "message": "0 violations of 10 rows [incremental: ...]"}
    assert sync(_run_data(tmp_path, [passed_new_rows], "run-2"), tmp_path / "backlog") == []
    passed_all = {**passed_new_rows, "evidence": {"mode": "full"}}
    [(change, _)] = sync(_run_data(tmp_path, [passed_all], "run-3"), tmp_path / "backlog")
    assert change is Change.RESOLVED


def _run_data(tmp_path: Path, records: list[dict], run_id: str = "run-1") -> RunData:
    return RunData({"run_id": run_id, "target": "t"}, records, tmp_path / run_id)


RECORD = {"check_id": "HS401", "object": "public.leaky", "phase": "lints", "outcome": "failed",
          "message": "RLS is disabled", "evidence": {"level": "error"}}


def test_a_ticket_reopens_when_its_failure_recurs(tmp_path):
    backlog = tmp_path / "backlog"
    assert [c for c, _ in sync(_run_data(tmp_path, [RECORD]), backlog)] == [Change.OPENED]
    passing = {**RECORD, "outcome": "passed", "object": "no findings"}
    assert [c for c, _ in sync(_run_data(tmp_path, [passing], "run-2"), backlog)] == [Change.RESOLVED]
    [(change, ticket)] = sync(_run_data(tmp_path, [RECORD], "run-3"), backlog)
    assert change is Change.REOPENED and (ticket.status, ticket.occurrences, ticket.resolved_at) == ("open", 2, None)
    assert "run run-2: passed, resolved" in ticket.body


def test_a_phase_that_did_not_run_resolves_nothing(tmp_path):
    backlog = tmp_path / "backlog"
    sync(_run_data(tmp_path, [RECORD]), backlog)
    other_phase = {**RECORD, "check_id": "HS501", "phase": "rls", "outcome": "passed", "object": "public.events"}
    assert sync(_run_data(tmp_path, [other_phase], "run-2"), backlog) == []
    assert _tickets(tmp_path)["HS401:public.leaky"] == ("open", 1)


def test_two_runs_at_once_never_corrupt_or_duplicate_a_ticket(tmp_path):
    records = [{**RECORD, "object": f"public.t{i}"} for i in range(40)]
    children = []
    for n in range(2):
        pid = os.fork()
        if pid == 0:
            try:
                sync(_run_data(tmp_path, records, f"run-{n}"), tmp_path / "backlog")
            finally:
                os._exit(0)
        children.append(pid)
    assert all(os.waitpid(pid, 0)[1] == 0 for pid in children)
    tickets = load_all(tmp_path / "backlog")  # every file parses
    assert len(tickets) == 40 and {t.occurrences for t in tickets.values()} == {2}
    assert not list((tmp_path / "backlog").glob(".ticket-*"))


GITHUB = "https://api.github.test"


def _github(tmp_path: Path) -> tuple[GitHubIssues, list]:
    changes = sync(_run_data(tmp_path, [RECORD]), tmp_path / "backlog", today=date(2026, 12, 1))
    sink = GitHubIssues("acme/stack", "ghp-secret-token-123", GITHUB, poster=Poster(sleep=lambda _s: None))
    return sink, changes


@respx.mock
def test_github_issue_opened_once_found_again_by_marker_and_closed_on_resolution(tmp_path):
    sink, changes = _github(tmp_path)
    listing = respx.get(f"{GITHUB}/repos/acme/stack/issues").respond(json=[])
    created = respx.post(f"{GITHUB}/repos/acme/stack/issues").respond(201, json={"number": 7})
    assert sink.sync(changes) == ["github: opened #7 for HS401:public.leaky"]
    body = json.loads(created.calls[0].request.content)["body"]
    assert "<!-- healstack:fingerprint:HS401:public.leaky -->" in body and listing.called
    # the title was edited by a person: the marker still finds it; a resolution comments and closes
    listing.respond(json=[{"number": 7, "state": "open", "title": "renamed", "body": body}])
    comment = respx.post(f"{GITHUB}/repos/acme/stack/issues/7/comments").respond(201, json={})
    close = respx.patch(f"{GITHUB}/repos/acme/stack/issues/7").respond(200, json={})
    resolved = sync(_run_data(tmp_path, [{**RECORD, "outcome": "passed", "object": "x"}], "run-2"),
                    tmp_path / "backlog")
    assert sink.sync(resolved) == ["github: closed #7"] and comment.called
    assert json.loads(close.calls[0].request.content) == {"state": "closed", "state_reason": "completed"}
    assert created.call_count == 1


@respx.mock
def test_github_rate_limit_and_errors_are_recorded_without_the_token(tmp_path):
    sink, changes = _github(tmp_path)
    respx.get(f"{GITHUB}/repos/acme/stack/issues").respond(
        403, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1764633600"}, json={})
    [note] = sink.sync(changes)
    assert note.startswith("github: stopped: listing issues: rate limited") and "ghp-secret" not in note


WEBHOOK = "https://hooks.slack.test/services/T000/B000/XXXXSECRET"


def _changed(tmp_path: Path) -> RunData:
    data = _run_data(tmp_path, [RECORD])
    data.outputs = {"tickets": {"opened": ["READY_system_fix_x.md"]}, "report": "r/index.html", "backlog": "b"}
    return data


@respx.mock
def test_slack_is_sent_once_per_run_only_when_something_changed(tmp_path):
    route = respx.post(WEBHOOK).respond(200, text="ok")
    assert slack(_changed(tmp_path), {"SLACK_WEBHOOK_URL": WEBHOOK}) == "slack: sent"
    text = json.loads(route.calls[0].request.content)["text"]
    assert "healstack run run-1: FAILED" in text and "1 opened" in text and "r/index.html" in text
    quiet = _run_data(tmp_path, [RECORD])
    quiet.outputs = {"tickets": {"updated": ["READY_system_fix_x.md"]}}
    assert "nothing changed" in slack(quiet, {"SLACK_WEBHOOK_URL": WEBHOOK}) and route.call_count == 1


@pytest.mark.parametrize(("responses", "expected", "waits"), [
    ([httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(200, text="ok")], "slack: sent", [3.0]),
    ([httpx.Response(404, text="no_service")], "slack: not sent: HTTP 404 no_service", []),
    ([httpx.ConnectTimeout("timed out")] * 3, "slack: not sent: timed out", [1.0, 2.0]),
], ids=["429-then-ok", "404-no_service", "timeouts"])
@respx.mock
def test_slack_failures_are_recorded_never_raised_and_never_show_the_webhook(tmp_path, responses, expected, waits):
    respx.post(WEBHOOK).side_effect = responses
    slept: list[float] = []
    note = slack(_changed(tmp_path), {"SLACK_WEBHOOK_URL": WEBHOOK}, Poster(sleep=slept.append))
    assert note == expected and "XXXXSECRET" not in note and "hooks.slack" not in note
    assert slept == waits  # Retry-After honoured; timeouts back off; a 404 (no_service) is not retried
