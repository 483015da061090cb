"""Every bad input is one line naming what is wrong and a non-zero exit (never 70), and nothing is lost: each
case here ended in "internal error" (exit 70), a traceback or a misleading message before."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import respx
from psycopg import sql
from psycopg.conninfo import make_conninfo
from repo import REPO

from healstack.cli import main
from healstack.config import Settings
from healstack.context import Context
from healstack.db import connect
from healstack.errors import ConfigError
from healstack.etl.cli import main as etl_main
from healstack.etl.http import SourceClient, SourceError
from healstack.results import Outcome
from healstack.rls.run import rls_contract

MIGRATIONS = str(REPO / "migrations")
LATIN1 = "-- prix en €\ncreate table if not exists public.x (id int);\n".encode("cp1252")


def _one_line(capsys: pytest.CaptureFixture[str], prefix: str = "healstack: error: ") -> str:
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(prefix), out + err
    return lines[0]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch, tmp_path):
    for name in [k for k in os.environ if k.startswith(("HEALSTACK_", "BACKFILL_", "RUN_BACKFILL"))]:
        monkeypatch.delenv(name)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("HEALSTACK_REPORTS_DIR", str(tmp_path / "reports"))


def test_a_migration_that_is_not_utf8_is_named(tmp_path, capsys):
    (tmp_path / "0001_x.sql").write_bytes(LATIN1)
    assert main(["--migrations", str(tmp_path), "lint"]) == 2
    assert "0001_x.sql: not UTF-8 text (byte 0x80" in _one_line(capsys)


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("events.toml", LATIN1, "events.toml: not UTF-8 text"),
    ("events.toml", b'table = "public.events"\n[[rules]]\nid = "e.x"\ntype = "not_null"\ncolumn = "name"\n'
                    b'max_violations = "abc"\n', "rule e.x: max_violations must be a whole number, not 'abc'"),
    ("events.toml", b'table = "public.events"\nrules = "oops"\n',
     "events.toml: rules are [[rules]] tables, not 'oops'"),
    ("events.toml", b'table = "public.events"\n[[rules]]\nid = "e.y"\ntype = "range"\ncolumn = "n"\nmin = "ten"\n',
     "rule e.y: min must be a number, not 'ten'"),
], ids=["not-utf8", "max_violations-abc", "rules-oops", "min-ten"])
def test_a_bad_rule_file_is_one_line_before_anything_starts(tmp_path, capsys, monkeypatch, name, content, expected):
    rules = tmp_path / "dq"
    rules.mkdir()
    (rules / name).write_bytes(content)
    monkeypatch.setenv("HEALSTACK_DQ_RULES", str(rules))
    monkeypatch.setenv("HEALSTACK_PG_BINDIR", str(tmp_path / "no-server-starts"))  # none may start first
    assert main(["--migrations", MIGRATIONS, "dq"]) == 2
    assert expected in _one_line(capsys)


def test_a_contract_that_is_not_utf8_is_named(tmp_path, capsys, monkeypatch):
    (tmp_path / "contract.toml").write_bytes(b"[events]\ntenant = 'proj\xe9ct'\n")
    monkeypatch.setenv("HEALSTACK_RLS_CONTRACT", str(tmp_path / "contract.toml"))
    monkeypatch.setenv("HEALSTACK_PG_BINDIR", str(tmp_path / "no-server-starts"))
    assert main(["--migrations", MIGRATIONS, "verify"]) == 2
    assert "contract.toml: not UTF-8 text (byte 0xe9" in _one_line(capsys)


def _contract_with_a_wrong_column(tmp_path: Path) -> Path:
    contract = (REPO / "checks" / "rls_contract.toml").read_text()
    contract = contract.replace('[events]\ntenant = "project"', '[events]\ntenant = "tenant_id"', 1)
    path = tmp_path / "contract.toml"
    path.write_text(contract)
    return path


def test_export_pgtap_refuses_a_contract_naming_a_column_the_schema_lacks(tmp_path, capsys, monkeypatch, migrated_db):
    monkeypatch.setenv("DATABASE_URL", migrated_db)
    monkeypatch.setenv("HEALSTACK_RLS_CONTRACT", str(_contract_with_a_wrong_column(tmp_path)))
    assert main(["--migrations", MIGRATIONS, "rls", "export-pgtap", str(tmp_path / "out")]) == 2
    assert "public.events: the contract names tenant_id, which public.events does not have" in _one_line(capsys)
    assert not (tmp_path / "out").exists()


def test_the_rls_phase_reports_such_a_contract_once_per_table_not_once_per_case(tmp_path, migrated_db, test_settings):
    settings = test_settings.with_(rls_contract=_contract_with_a_wrong_column(tmp_path))
    results = rls_contract(Context(migrated_db, settings))
    errors = [r for r in results if r.outcome is Outcome.ERROR]
    assert [(r.check_id, r.object) for r in errors] == [("HS501", "public.events")]
    assert not any(r.object == "public.events" and r.outcome is Outcome.PASSED for r in results)


@pytest.mark.parametrize(("argv", "env", "expected"), [
    (["backfill"], {"RUN_BACKFILL": "true", "BACKFILL_SOURCES": "events", "BACKFILL_START": "2025-02-01",
                    "BACKFILL_END": "2025-01-01"}, "BACKFILL_START 2025-02-01 is after BACKFILL_END 2025-01-01"),
    (["metrics", "--from", "2025-02-01", "--to", "2025-01-01"], {}, "--from 2025-02-01 is after --to 2025-01-01"),
    (["pull", "events", "--since", "2025-02-30"], {}, "--since='2025-02-30' is not a date"),
], ids=["backfill-window", "metrics-window", "impossible-date"])
def test_an_etl_window_backwards_is_one_line_before_any_server_starts(tmp_path, capsys, monkeypatch, argv, env,
                                                                      expected):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HEALSTACK_PG_BINDIR", str(tmp_path / "no-server-starts"))
    assert etl_main(argv) == 2
    assert expected in _one_line(capsys, "etl: error: ")


@pytest.mark.parametrize(("value", "accepted"), [("99999999999s", None), ("25d", None), ("5h", "5h"),
                                                 ("1500", "1500ms"), ("2 min", "2min")])
def test_durations_take_postgres_units_within_postgres_limits(value, accepted):
    if accepted is None:
        with pytest.raises(ConfigError, match="longer than Postgres allows"):
            Settings.resolve(REPO, environ={"HEALSTACK_LOCK_TIMEOUT": value})
    else:
        assert Settings.resolve(REPO, environ={"HEALSTACK_LOCK_TIMEOUT": value}).lock_timeout == accepted


def test_a_reports_path_that_is_a_file_is_one_line(tmp_path, capsys, monkeypatch, migrated_db):
    (tmp_path / "reports-file").write_text("not a directory")
    monkeypatch.setenv("DATABASE_URL", migrated_db)
    assert main(["--migrations", MIGRATIONS, "--reports", str(tmp_path / "reports-file"), "apply"]) == 2
    assert "cannot write reports to" in _one_line(capsys)


@pytest.fixture
def low_privilege(migrated_db: str) -> str:
    """A role that may connect to the migrated clone and nothing else (the ledger's schema is not its)."""
    with connect(migrated_db, autocommit=True) as admin:
        if not admin.execute("select 1 from pg_roles where rolname = 'healstack_reader'").fetchone():
            admin.execute("create role healstack_reader login")
        name = admin.info.dbname
        admin.execute(sql.SQL("grant connect on database {} to healstack_reader").format(sql.Identifier(name)))
    return make_conninfo(migrated_db, user="healstack_reader")


def test_a_role_that_cannot_read_the_ledger_is_told_so(low_privilege, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", low_privilege)
    assert main(["--migrations", MIGRATIONS, "apply", "--dry-run"]) == 2
    assert "role healstack_reader cannot read the migration ledger healstack.schema_migrations" in _one_line(capsys)


def test_probes_as_a_role_that_cannot_act_as_the_api_roles_are_one_error(low_privilege, test_settings):
    results = rls_contract(Context(low_privilege, test_settings))
    errors = [r for r in results if r.outcome is Outcome.ERROR]
    assert len(errors) == 1 and "RLS probes act as anon, but role healstack_reader cannot" in errors[0].message
    assert not [r for r in results if r.check_id == "HS501" and r.outcome is not Outcome.ERROR]


EVENTS = json.loads((REPO / "fixtures/events/page1.json").read_text())


def _second_page(record: dict) -> dict:
    second = copy.deepcopy(EVENTS)
    second["data"] = [dict(e, id=f"late-{e['id']}") for e in second["data"]]
    second["next_cursor"] = None
    return second


def _pull_with_a_bad_second_page(monkeypatch, dsn: str, second: Callable[[], httpx.Response]) -> int:
    first = dict(EVENTS, next_cursor="c2")
    respx.get("https://events.test/events").side_effect = lambda request: (
        second() if request.url.params.get("cursor") == "c2" else httpx.Response(200, json=first))
    for name, value in {"DATABASE_URL": dsn, "EVENTS_BASE_URL": "https://events.test",
                        "EVENTS_TOKEN": "tok-bad-input-123", "ETL_PROJECT": "occ"}.items():
        monkeypatch.setenv(name, value)
    return etl_main(["pull", "events", "--since", "2025-03-09", "--until", "2025-03-09"])


def _only_the_first_page_kept(dsn: str) -> None:
    with connect(dsn) as conn:
        ids = [r[0] for r in conn.execute("select event_id from public.events order by 1")]
        cursor = conn.execute("select cursor_state from public.etl_cursors where source = 'events'").fetchone()
        status = conn.execute("select status from public.etl_runs").fetchone()
    assert ids == sorted(e["id"] for e in EVENTS["data"]) and cursor and cursor[0]["cursor"] == "c2"
    assert status == ("failed",)


def _broken(change: Callable[[dict], object]) -> Callable[[], httpx.Response]:
    second = _second_page(EVENTS)
    change(second["data"][0])
    return lambda: httpx.Response(200, json=second)


@pytest.mark.parametrize(("second", "expected"), [
    (_broken(lambda e: e.pop("id")), "events: page 2: a record lacks the field 'id'"),
    (_broken(lambda e: e.update(occurred_at="yesterday-ish")),
     "events: page 2: field occurred_at: 'yesterday-ish' is not a timestamp with a time zone"),
    (_broken(lambda e: e.update(name=None)), "events: page 2: field name: null value in column \"name\""),
    (lambda: httpx.Response(200, text="<!doctype html><title>Maintenance</title>",
                            headers={"Content-Type": "text/html"}),
     "events: page 2: request failed (an HTML page came back where JSON was expected); not retried"),
    (lambda: httpx.Response(200, content=b'{"data": [{"id": "ev-1", "na'),
     "events: page 2: gave up after 6 attempts (last: transient: truncated or invalid JSON)"),
], ids=["missing-field", "wrong-type", "wrong-shape", "html-page", "invalid-json"])
@respx.mock
def test_a_bad_page_names_source_page_and_field_and_keeps_earlier_pages(migrated_db, monkeypatch, capsys, second,
                                                                       expected):
    monkeypatch.setattr("random.Random.uniform", lambda _self, _a, _b: 0.0)  # retries without waiting
    assert _pull_with_a_bad_second_page(monkeypatch, migrated_db, second) == 1
    assert expected in _one_line(capsys, "etl: error: ")
    _only_the_first_page_kept(migrated_db)


def test_a_retry_after_beyond_the_budget_is_said_not_cut_short():
    throttled = httpx.MockTransport(lambda _request: httpx.Response(429, headers={"Retry-After": "7200"}))
    client = SourceClient("source-a (Meta)", "META_ACCESS_TOKEN", sleep=lambda _s: None, transport=throttled)
    with pytest.raises(SourceError, match=r"asks to wait 7200 s \(HTTP 429\), more than the 3600 s left of "
                                          "ETL_MAX_THROTTLE_WAIT"):
        client.get("https://meta.test/v25.0/act_1/insights")
