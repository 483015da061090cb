"""`python -m etl`: pulls end to end against respx-served pages; bad input is one line and a non-zero exit."""

from __future__ import annotations

import io
import json

import httpx
import pytest
import respx
from repo import REPO

from healstack.db import connect
from healstack.etl.cli import main

FIXTURES = REPO / "fixtures"


@pytest.fixture
def etl_env(monkeypatch, migrated_db):
    monkeypatch.setenv("DATABASE_URL", migrated_db)
    monkeypatch.setenv("EVENTS_BASE_URL", "https://events.test")
    monkeypatch.setenv("EVENTS_TOKEN", "tok-SECRET-987654")
    monkeypatch.setenv("ETL_PROJECT", "occ")
    return migrated_db


def _serve_events() -> None:
    pages = [json.loads((FIXTURES / f"events/page{n}.json").read_text()) for n in (1, 2)]
    respx.get("https://events.test/events").side_effect = lambda request: httpx.Response(
        200, json=pages[1] if request.url.params.get("cursor") == "c2" else pages[0])


@respx.mock
def test_pull_then_rerun_then_dry_run(etl_env, capsys):
    _serve_events()
    assert main(["pull", "events", "--since", "2025-03-09", "--until", "2025-03-09"]) == 0
    assert "events -> events: 2 pages, 4 rows fetched; inserted 4, updated 0, unchanged 0" in capsys.readouterr().out
    with connect(etl_env, autocommit=True) as conn:
        conn.execute("delete from public.etl_cursors")
    assert main(["pull", "events", "--since", "2025-03-09", "--until", "2025-03-09"]) == 0
    assert "inserted 0, updated 0, unchanged 4" in capsys.readouterr().out
    with connect(etl_env, autocommit=True) as conn:
        conn.execute("delete from public.etl_cursors")
        runs = conn.execute("select count(*) from public.etl_runs").fetchone()
    assert main(["pull", "events", "--dry-run"]) == 0
    assert "would insert 0, would update 0, unchanged 4" in capsys.readouterr().out
    with connect(etl_env) as conn:
        assert conn.execute("select count(*) from public.etl_runs").fetchone() == runs
        assert conn.execute("select count(*) from public.etl_cursors").fetchone() == (0,)


@pytest.mark.parametrize(("argv", "env", "message"), [
    (["pull", "events", "--since", "March 1"], {}, "--since='March 1' is not a date (YYYY-MM-DD)"),
    (["pull", "events", "--since", "2025-03-09", "--until", "2025-03-01"], {}, "is after --until"),
    (["backfill"], {}, "backfill runs only with RUN_BACKFILL=true"),
    (["backfill"], {"RUN_BACKFILL": "true", "BACKFILL_SOURCES": "source_c"}, "BACKFILL_SOURCES must list some of"),
    (["pull", "source-a"], {}, "META_ACCOUNT_ID is not set"),
])
def test_bad_input_is_one_line(etl_env, monkeypatch, capsys, argv, env, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("etl: error: ") and message in err[0]


@respx.mock
def test_auth_failure_exits_1_without_the_token(etl_env, capsys):
    respx.get("https://events.test/events").respond(401)
    assert main(["pull", "events"]) == 1
    err = capsys.readouterr().err
    assert "events: authentication failed (HTTP 401); check EVENTS_TOKEN" in err and "tok-SECRET" not in err
    with connect(etl_env) as conn:
        assert conn.execute("select status from public.etl_runs").fetchone() == ("failed",)


def test_metrics_command(etl_env, capsys):
    assert main(["metrics", "--from", "2025-03-01", "--to", "2025-03-09"]) == 0
    assert "metrics_daily: 0 rows written for 2025-03-01..2025-03-09" in capsys.readouterr().out


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@respx.mock
def test_a_backfill_shows_a_progress_bar_on_a_terminal(etl_env, monkeypatch, capsys):
    """TikTok's report is read 30 days at a time: 60 days are two windows, the bar at 50 % then 100 %."""
    for name, value in {"RUN_BACKFILL": "true", "BACKFILL_SOURCES": "source_b", "BACKFILL_START": "2025-01-09",
                        "BACKFILL_END": "2025-03-09", "TIKTOK_BASE_URL": "https://tiktok.test",
                        "TIKTOK_ADVERTISER_ID": "777", "TIKTOK_ACCESS_TOKEN": "tok-SECRET-987654"}.items():
        monkeypatch.setenv(name, value)
    respx.get("https://tiktok.test/open_api/v1.3/advertiser/info/").respond(
        json=json.loads((FIXTURES / "tiktok/advertiser.json").read_text()))
    one_page = json.loads((FIXTURES / "tiktok/report_page2.json").read_text())
    one_page["data"]["page_info"]["total_page"] = 1
    respx.get("https://tiktok.test/open_api/v1.3/report/integrated/get/").respond(json=one_page)
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert main(["backfill"]) == 0
    frames = terminal.getvalue().split("\r")
    assert frames[1] == f"source-b [{'#' * 15}{'-' * 15}]  50% 1 pages, 1 rows"
    assert frames[2].startswith(f"source-b [{'#' * 30}] 100% 2 pages, 2 rows")
    assert "source-b: api_version v1.3" in capsys.readouterr().out


@respx.mock
def test_without_a_terminal_no_bar_is_drawn(etl_env, monkeypatch, capsys):
    _serve_events()
    for name, value in {"RUN_BACKFILL": "true", "BACKFILL_SOURCES": "events", "BACKFILL_START": "2025-03-09",
                        "BACKFILL_END": "2025-03-09"}.items():
        monkeypatch.setenv(name, value)
    assert main(["backfill"]) == 0
    assert "\r" not in capsys.readouterr().err
