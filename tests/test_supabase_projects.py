"""Three Supabase projects as their authors wrote them (tests/projects/), each from a fresh folder through the
commands a new user runs: `healstack apply`, `healstack rls scaffold`, `healstack rehearsal` and
`pytest --pyargs healstack.checks`, on a database of this run's server. None may end in exit 70, and each must
show what a person would expect: what passes, the stand-ins named, the unprotected table named. Then the
ownership models are shown to fail when a policy lets a user reach another's rows."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from healstack.compat import ensure_platform, ensure_supabase_compat
from healstack.config import Settings
from healstack.context import Context
from healstack.db import connect
from healstack.results import Outcome
from healstack.rls.contract import load_contract
from healstack.rls.run import rls_contract

PROJECTS = Path(__file__).parent / "projects"


def _server_major(dsn: str) -> int:
    with connect(dsn) as conn:
        return int(conn.info.server_version) // 10000


@pytest.fixture
def target(empty_db: str) -> str:
    if _server_major(empty_db) < 18:
        pytest.skip("the platform-only stand-ins load through Postgres 18's extension_control_path")
    return empty_db


def _fresh(tmp_path: Path, name: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    folder = tmp_path / name
    shutil.copytree(PROJECTS / name, folder)
    return folder


def _run(folder: Path, dsn: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEALSTACK_", "SUPABASE_"))}
    env.update(DATABASE_URL=dsn, PYTHONDONTWRITEBYTECODE="1")
    command = [sys.executable, "-m", *args] if args[0] == "pytest" else [sys.executable, "-m", "healstack", *args]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=folder, timeout=600)
    assert done.returncode != 70 and "Traceback" not in done.stderr + done.stdout, done.stdout + done.stderr
    return done


def _results(folder: Path) -> list[dict[str, Any]]:
    """The records of the newest run in the project's reports/."""
    newest = max((folder / "reports").glob("*/results.jsonl"), key=lambda p: p.parent.name)
    return [json.loads(line) for line in newest.read_text().splitlines()]


def _outcomes(records: list[dict[str, Any]], check_id: str) -> set[str]:
    return {r["outcome"] for r in records if r["check_id"] == check_id}


def _first_run(folder: Path, dsn: str) -> tuple[str, list[dict[str, Any]], int]:
    """apply, scaffold, rehearsal, pytest: the contract written, the rehearsal's records, pytest's exit code."""
    applied = _run(folder, dsn, "apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    scaffold = _run(folder, dsn, "rls", "scaffold")
    assert scaffold.returncode == 0 and "wrote" in scaffold.stdout, scaffold.stderr
    contract = (folder / "checks" / "rls_contract.toml").read_text()
    rehearsal = _run(folder, dsn, "rehearsal")
    records = _results(folder)
    assert rehearsal.returncode == (1 if any(r["outcome"] in ("failed", "error") for r in records) else 0)
    checks = _run(folder, dsn, "pytest", "--pyargs", "healstack.checks", "-q", "-p", "no:cacheprovider")
    return contract, records, checks.returncode


def chat_owned_rows_a_profile_trigger_and_a_database_the_cli_migrated(tmp_path: Path, target: str) -> None:
    folder = _fresh(tmp_path, "chat")
    first = sorted((folder / "supabase" / "migrations").glob("*.sql"))[0]
    with connect(target, autocommit=True) as conn:  # `supabase db push` applied the first file, on the platform
        ensure_supabase_compat(conn)
        ensure_platform(conn)
        conn.execute("create schema supabase_migrations; create table supabase_migrations.schema_migrations"
                     " (version text primary key, statements text[], name text)")
        conn.execute(first.read_text())
        conn.execute("insert into supabase_migrations.schema_migrations values ('20240101000000', '{}', 'init')")
    contract, records, checks = _first_run(folder, target)
    assert "20240101000000_init.sql" not in _run(folder, target, "apply", "--dry-run").stdout  # not pending
    assert 'owner = "user_id"' in contract and 'owner = "id"' in contract
    assert 'select = ["anonymous", "authenticated"]' in contract
    assert _outcomes(records, "HS501") == {"passed"}  # profiles made by the trigger count as seeded
    assert _outcomes(records, "HS201") == {"not_evaluated"}  # forward-only: said, not failed
    assert checks == 0


def teams_membership_in_a_private_schema_and_the_projects_pgtap(tmp_path: Path, target: str) -> None:
    folder = _fresh(tmp_path, "teams")
    contract, records, checks = _first_run(folder, target)
    assert '["teams.accounts"]' in contract
    assert 'member = { table = "teams.members", tenant = "account_id", user = "user_id" }' in contract
    assert _outcomes(records, "HS501") == {"passed"}
    assert {r["object"] for r in records if r["check_id"] == "HS501"} >= {"teams.accounts", "public.projects"}
    assert [r["outcome"] for r in records if r["check_id"] == "HS504"] == ["passed"] * 3
    assert checks == 0


def media_storage_and_platform_extensions_with_one_table_left_open(tmp_path: Path, target: str) -> None:
    folder = _fresh(tmp_path, "media")
    contract, records, checks = _first_run(folder, target)
    assert 'owner = "owner"' in contract
    stand_ins = next(r for r in records if r["check_id"] == "HS106")
    assert stand_ins["outcome"] == "warned" and "http" in stand_ins["message"] and "pg_net" in stand_ins["message"]
    failed = {(r["check_id"], r["object"]) for r in records if r["outcome"] in ("failed", "error")}
    assert failed == {("HS401", "public.download_log")}  # the table without RLS, by name, and nothing else
    assert _outcomes(records, "HS501") == {"passed"}
    assert checks == 1


PROJECTS_RUN = (chat_owned_rows_a_profile_trigger_and_a_database_the_cli_migrated,
                teams_membership_in_a_private_schema_and_the_projects_pgtap,
                media_storage_and_platform_extensions_with_one_table_left_open)


@pytest.fixture
def three_targets(target: str, pg_server: str) -> Iterator[list[str]]:
    """Three empty databases of the run's server, the platform's roles made once beforehand (they are the
    server's, and three first runs at once would race to create them)."""
    with connect(target, autocommit=True) as conn:
        ensure_supabase_compat(conn)
    names = [f"t_{uuid.uuid4().hex[:16]}" for _ in range(2)]
    with connect(pg_server, autocommit=True) as admin:
        for name in names:
            admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        yield [target, *(make_conninfo(pg_server, dbname=name) for name in names)]
    finally:
        with connect(pg_server, autocommit=True) as admin:
            for name in names:
                admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def test_three_projects_from_a_fresh_folder(tmp_path: Path, three_targets: list[str]) -> None:
    """The projects run at once, as three users would: most of each run waits on its subprocesses."""
    with ThreadPoolExecutor(len(PROJECTS_RUN)) as pool:
        runs = {project.__name__: pool.submit(project, tmp_path / project.__name__[:5], dsn)
                for project, dsn in zip(PROJECTS_RUN, three_targets, strict=True)}
    for name, run in runs.items():
        error = run.exception()
        if error is not None:
            raise AssertionError(f"{name}: {error}") from error


def _contract_run(dsn: str, tmp_path: Path, contract: str) -> list[Any]:
    path = tmp_path / "rls.toml"
    path.write_text(contract)
    settings = Settings.resolve(tmp_path, options={"rls_contract": str(path), "reports": str(tmp_path / "r")},
                                environ={})
    return rls_contract(Context(dsn, settings))


@pytest.fixture
def teams_db(tmp_path: Path, target: str) -> str:
    folder = _fresh(tmp_path, "teams")
    assert _run(folder, target, "apply").returncode == 0
    return target


MEMBERSHIP = """
[projects]
tenant = "account_id"
member = { table = "teams.members", tenant = "account_id", user = "user_id" }
select = ["tenant"]
insert = ["tenant"]
update = ["tenant"]
delete = ["tenant"]

["teams.accounts"]
tenant = "id"
member = { table = "teams.members", tenant = "account_id", user = "user_id" }
select = ["tenant"]

[teams.members]
owner = "user_id"
select = ["tenant"]
"""


DEFECTS = [
    # (a sub-select over teams.members without the user check would still be safe: RLS on members applies in it)
    ("Members work on their accounts' projects", "public.projects", "account_id is not null",
     "projects: tenant select: sees"),
    ("Users see their own memberships", "teams.members", "true", "teams.members: tenant select: sees"),
]


def test_a_membership_policy_that_forgets_the_user_fails(teams_db: str, tmp_path: Path) -> None:
    assert {r.outcome for r in _contract_run(teams_db, tmp_path, MEMBERSHIP) if r.check_id == "HS501"} \
        == {Outcome.PASSED}
    for policy, table, defect, failing in DEFECTS:
        with connect(teams_db, autocommit=True) as conn:
            fixed = conn.execute("select pg_get_expr(polqual, polrelid) from pg_policy where polname = %s",
                                 [policy]).fetchone()
            assert fixed is not None
            conn.execute(f'alter policy "{policy}" on {table} using ({defect})')
            failed = [r.message for r in _contract_run(teams_db, tmp_path, MEMBERSHIP)
                      if r.outcome is Outcome.FAILED]
            conn.execute(f'alter policy "{policy}" on {table} using ({fixed[0]})')
        assert any(m.startswith(failing) for m in failed), (policy, failed)


CLAIMS = """
create table public.notes (id bigint generated always as identity primary key, org uuid not null, body text);
alter table public.notes enable row level security;
grant all on public.notes to authenticated, service_role;
create policy notes_org on public.notes for all to authenticated
  using (org = ((select auth.jwt()) ->> 'org_id')::uuid) with check (org = ((select auth.jwt()) ->> 'org_id')::uuid);
"""


def test_a_uuid_tenant_from_a_top_level_claim_and_a_policy_that_trusts_user_metadata(target: str,
                                                                                     tmp_path: Path) -> None:
    contract = '[notes]\ntenant = "org"\nclaim = "org_id"\nselect = ["tenant"]\ninsert = ["tenant"]\n' \
               'update = ["tenant"]\ndelete = ["tenant"]\n'
    with connect(target, autocommit=True) as conn:
        ensure_supabase_compat(conn)
        ensure_platform(conn)
        conn.execute(CLAIMS)
    results = [r for r in _contract_run(target, tmp_path, contract) if r.check_id == "HS501"]
    assert {r.outcome for r in results} == {Outcome.PASSED}, [r.message for r in results]
    with connect(target, autocommit=True) as conn:
        conn.execute("alter policy notes_org on public.notes using "
                     "(org = ((select auth.jwt()) -> 'user_metadata' ->> 'org_id')::uuid)")
    failed = [r.message for r in _contract_run(target, tmp_path, contract) if r.outcome is Outcome.FAILED]
    assert any(m.startswith("notes: tenant select: sees") for m in failed), failed


def test_scaffold_marks_what_it_could_not_read_and_never_overwrites_a_contract(teams_db: str, tmp_path: Path) -> None:
    with connect(teams_db, autocommit=True) as conn:
        conn.execute("create function public.is_member(a uuid) returns boolean language sql stable"
                     " as $$ select true $$")
        conn.execute("alter policy \"Members work on their accounts' projects\" on public.projects"
                     " using (public.is_member(account_id))")
        # a policy Postgres prints on several lines (a sub-select) stays one comment line, so the file still reads
        conn.execute("create policy \"Members of named accounts\" on teams.members for select to authenticated"
                     " using (public.is_member((select a.id from teams.accounts as a where a.id = account_id)))")
    folder = tmp_path / "teams"
    assert _run(folder, teams_db, "rls", "scaffold").returncode == 0
    text = (folder / "checks" / "rls_contract.toml").read_text()
    assert "# healstack: could not infer whose rows select policy \"Members work on their accounts' projects\"" \
           " admits for authenticated: is_member(account_id)" in text
    assert load_contract(folder / "checks" / "rls_contract.toml")
    again = _run(folder, teams_db, "rls", "scaffold")
    assert again.returncode == 2 and again.stderr.strip().endswith("exists; pass --out for another file, or --force "
                                                                   "to replace it")
    assert (folder / "checks" / "rls_contract.toml").read_text() == text
