"""The healstack command: the main job works, bad input is one clear line and a distinct exit code."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from psycopg.conninfo import make_conninfo
from repo import REPO

from healstack.db import connect
from healstack.migrate.files import discover

SHIPPED = discover(Path(__file__).parent.parent / "migrations")

def _run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SUPABASE_DB_URL")}
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "healstack", *args], capture_output=True, text=True,
                          env=environ, cwd=cwd, timeout=300)


def _one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("healstack: error: ")
    return lines[0]


def test_main_job_on_the_embedded_default(tmp_path):
    done = _run("--reports", str(tmp_path), "apply")
    assert done.returncode == 0, done.stderr
    assert "on postgresql://postgres@127.0.0.1:" in done.stdout and "(embedded Postgres " in done.stdout
    assert f"applied {len(SHIPPED)} migrations" in done.stdout


def test_apply_to_database_url_then_again_is_a_no_op(empty_db, tmp_path):
    first = _run("--reports", str(tmp_path), "apply", env={"DATABASE_URL": empty_db})
    assert first.returncode == 0, first.stderr
    assert f"applied {len(SHIPPED)} migrations" in first.stdout
    second = _run("--reports", str(tmp_path), "apply", env={"DATABASE_URL": empty_db})
    assert second.returncode == 0 and "applied 0 migrations" in second.stdout


def test_unreachable_database_is_one_line_with_the_password_masked(tmp_path):
    done = _run("--reports", str(tmp_path), "apply",
                env={"DATABASE_URL": "postgresql://postgres:topsecret99@127.0.0.1:1/postgres"})
    line = _one_line_error(done)
    assert done.returncode == 2
    assert "cannot connect to postgresql://postgres:***@127.0.0.1:1/postgres" in line
    assert "topsecret99" not in done.stderr + done.stdout


def test_malformed_database_url(tmp_path):
    done = _run("--reports", str(tmp_path), "apply", env={"DATABASE_URL": "definitely not a dsn"})
    assert done.returncode == 2 and "invalid database URL" in _one_line_error(done)


def test_bad_timeout_setting(tmp_path):
    done = _run("apply", env={"HEALSTACK_LOCK_TIMEOUT": "soon"})
    assert done.returncode == 2
    assert "HEALSTACK_LOCK_TIMEOUT='soon' is not a duration" in _one_line_error(done)


def test_misnamed_migration_file(tmp_path):
    (tmp_path / "add_stuff.sql").write_text("select 1;\n")
    done = _run("--migrations", str(tmp_path), "lint")
    assert done.returncode == 2 and "add_stuff.sql: migration files are named" in _one_line_error(done)


def test_missing_migrations_directory(tmp_path):
    done = _run("--migrations", str(tmp_path / "nope"), "lint")
    assert done.returncode == 2 and "migrations directory not found" in _one_line_error(done)


def test_failing_migration_exits_1_naming_file_and_line(empty_db, tmp_path):
    (tmp_path / "0001_bad.sql").write_text("create table if not exists public.x (id int);\nselect 1/0;\n")
    done = _run("--migrations", str(tmp_path), "--reports", str(tmp_path), "apply",
                env={"DATABASE_URL": empty_db})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAILED        HS100" in done.stdout and "0001_bad.sql:2: division by zero" in done.stdout
    with connect(empty_db) as conn:
        assert conn.execute("select to_regclass('public.x')").fetchone() == (None,)


@pytest.mark.parametrize("command", [("lint",), ("apply", "--dry-run")])
def test_unsafe_migration_is_refused_with_exit_3(command, empty_db, tmp_path):
    migrations = tmp_path / "m"
    migrations.mkdir()
    (migrations / "0001_drop.sql").write_text("drop table public.events;\n")
    done = _run("--migrations", str(migrations), "--reports", str(tmp_path), *command,
                env={"DATABASE_URL": empty_db})
    assert done.returncode == 3
    assert "HS001" in done.stdout and "0001_drop.sql:1" in done.stdout


def test_rollback_rehearsal_command(pg_server, tmp_path):
    done = _run("--reports", str(tmp_path), "apply", "--rehearse-rollback", env={"DATABASE_URL": pg_server})
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"rollback   {len(SHIPPED)} passed" in done.stdout


def test_verify_and_delta_exit_codes(migrated_db, tmp_path):
    env = {"DATABASE_URL": migrated_db}
    # pytest's own arguments pass through: `healstack verify -m parity` checks parity alone
    assert _run("--reports", str(tmp_path), "verify", "-m", "parity", env=env).returncode == 0
    clean = _run("--reports", str(tmp_path), "delta", env=env)
    assert clean.returncode == 0 and "no difference" in clean.stderr
    with connect(migrated_db, autocommit=True) as conn:
        conn.execute("drop index public.idx_metrics_day")
    broken = _run("--reports", str(tmp_path), "verify", "-m", "parity", env=env)
    assert broken.returncode == 1 and "HS301" in broken.stdout
    out = tmp_path / "delta.sql"
    written = _run("--reports", str(tmp_path), "delta", "--out", str(out), env=env)
    assert written.returncode == 1, written.stderr
    assert "create index if not exists idx_metrics_day" in out.read_text()
    with connect(migrated_db, autocommit=True) as conn:
        conn.execute("create table public.stray (id int primary key)")
    refused = _run("--reports", str(tmp_path), "delta", env=env)
    assert refused.returncode == 3 and "relations public.stray: unexpected" in refused.stdout


def test_rehearsal_runs_the_whole_runbook_on_the_embedded_default(tmp_path):
    done = _run("--reports", str(tmp_path), "rehearsal")
    assert done.returncode == 0, done.stdout + done.stderr
    for phase in ("apply", "rollback", "parity", "lints", "rls", "dq"):
        assert f"  {phase:<10} " in done.stdout
    assert "failed" not in done.stdout
    [run] = [p for p in tmp_path.iterdir() if (p / "results.jsonl").exists()]
    assert (run / "apply" / "evidence.jsonl").exists() and (run / "run.json").exists()


@pytest.mark.any_postgres  # the exit code and the naming, not the server's: once, in the Postgres 18 run
def test_rehearsal_fails_on_a_defect_naming_it(migrated_db, tmp_path):
    with connect(migrated_db, autocommit=True) as conn:
        conn.execute("alter table public.events disable row level security")
    done = _run("--reports", str(tmp_path), "rehearsal", env={"DATABASE_URL": migrated_db})
    assert done.returncode == 1
    assert "events: tenant select: sees" in done.stdout and "HS303" in done.stdout


def _checked(reports: Path) -> set[tuple[str, str]]:
    [results] = reports.glob("*/results.jsonl")
    return {(r["check_id"], r["object"]) for r in map(json.loads, results.read_text().splitlines())}


def test_rehearsal_and_verify_report_the_same_checks_for_the_same_database(migrated_db, tmp_path):
    """`nox -s verify` runs `healstack verify`; `nox -s rehearsal` runs `healstack rehearsal`."""
    env = {"DATABASE_URL": migrated_db}
    rehearsal = _run("--reports", str(tmp_path / "r"), "rehearsal", env=env, cwd=REPO)
    verify = _run("--reports", str(tmp_path / "v"), "verify", env=env, cwd=REPO)
    assert rehearsal.returncode == verify.returncode == 0, rehearsal.stdout + verify.stdout
    rehearsed, verified = _checked(tmp_path / "r"), _checked(tmp_path / "v")
    assert {c for c, _ in rehearsed - verified} == {"HS100"}  # the apply action's own record
    assert verified <= rehearsed
    assert {"HS104", "HS105", "HS503", "HS202", "HS300", "HS501"} <= {c for c, _ in verified}


@pytest.mark.any_postgres  # redaction of outputs, not the server's: once, in the Postgres 18 run
def test_no_secret_reaches_any_output_report_or_ticket(migrated_db, tmp_path):
    """A password in the DSN (the trust-auth test server ignores it), secret-looking variables, and a webhook and
    a GitHub token that are tried (on loopback, refused) because the run opens a ticket."""
    password = "Pw-7@:/s3cr3t x'"
    secret_dsn = make_conninfo(migrated_db, password=password)
    with connect(migrated_db, autocommit=True) as conn:
        conn.execute("drop index public.idx_metrics_day")
    env = {"DATABASE_URL": secret_dsn, "EVENTS_TOKEN": "tok-9f8e7d6c5b4a", "META_APP_SECRET": "appsecret-123456",
           "SLACK_WEBHOOK_URL": "http://127.0.0.1:9/services/T000/B000/XXXXSECRET",
           "GITHUB_TOKEN": "ghp-secret-0123456789", "HEALSTACK_GITHUB_ISSUES": "acme/stack",
           "GITHUB_API_URL": "http://127.0.0.1:9", "HEALSTACK_BACKLOG_DIR": str(tmp_path / "backlog")}
    done = _run("--reports", str(tmp_path / "reports"), "verify", "-m", "apply or parity or rls", "-v", env=env,
                cwd=REPO)
    assert done.returncode == 1, done.stdout + done.stderr
    assert list((tmp_path / "backlog").glob("READY_system_fix_*.md")) and "slack: not sent" in done.stdout
    written = "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file())
    secrets = [password, quote(password, safe=""), env["EVENTS_TOKEN"], env["META_APP_SECRET"],
               env["SLACK_WEBHOOK_URL"], "XXXXSECRET", env["GITHUB_TOKEN"]]
    for secret in secrets:
        for where, text in (("stdout", done.stdout), ("stderr", done.stderr), ("reports and backlog", written)):
            assert secret not in text, f"{secret!r} in {where}"
    assert "password=***" in done.stdout  # the target is shown, its password masked


def test_the_projects_own_test_conftest_is_not_loaded_by_the_guardrails(migrated_db, tmp_path):
    """A project's tests/conftest.py may import what healstack's environment lacks (this repository's imports
    hypothesis, which a fresh `nox -s rehearsal` does not install): the command never loads it."""
    shutil.copytree(REPO / "migrations", tmp_path / "migrations")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "conftest.py").write_text("import a_module_only_the_test_environment_has\n")
    done = _run("preflight", env={"DATABASE_URL": migrated_db}, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
