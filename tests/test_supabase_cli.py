"""The Supabase CLI's conventions: every file name it accepts, in its order, and a database it migrated (its
history in supabase_migrations.schema_migrations) is not "pending"; what healstack applies goes into that
history too, so `supabase db push` does not apply it again."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from healstack.config import Settings
from healstack.context import Context
from healstack.db import connect
from healstack.errors import ConfigError
from healstack.migrate.drift import ledger_drift
from healstack.migrate.files import discover
from healstack.migrate.ledger import read_ledger
from healstack.migrate.runner import apply_migrations, status_table
from healstack.results import Outcome

CLI_FILES = {
    "20240414161707_team-setup.sql": "create table if not exists public.teams (id bigint primary key);\n",
    "20240414161708_Add Members.sql": "create table if not exists public.members (id bigint primary key,"
                                      " team_id bigint references public.teams (id));\n",
    "20240501000000_notes.v2.sql": "alter table public.members add column if not exists note text;\n",
}
# the schema the CLI creates for its history (supabase/cli, pkg/migration/history.go)
CLI_HISTORY = """
create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (version text not null primary key,
                                                                  statements text[], name text);
"""


def _project(tmp_path: Path) -> Path:
    folder = tmp_path / "supabase" / "migrations"
    folder.mkdir(parents=True)
    for name, text in CLI_FILES.items():
        (folder / name).write_text(text)
    return folder


def test_every_name_the_cli_accepts_is_a_migration_in_the_clis_order(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    (folder / "20240414161707_team-setup.rollback.sql").write_text("drop table public.teams;\n")
    found = discover(folder)
    assert [m.path.name for m in found] == sorted(CLI_FILES)
    assert [m.name for m in found] == ["team-setup", "Add Members", "notes.v2"]
    assert found[0].rollback_path.is_file()


@pytest.mark.parametrize("name", ["init.sql", "v1_init.sql", "_init.sql"])
def test_a_name_the_cli_refuses_is_one_line(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("select 1;\n")
    with pytest.raises(ConfigError, match=r"named <digits>_<name>\.sql"):
        discover(tmp_path)


def test_a_database_the_cli_migrated_is_not_pending(empty_db: str, test_settings: Settings, tmp_path: Path) -> None:
    folder = _project(tmp_path)
    first = sorted(CLI_FILES)[0]
    with connect(empty_db, autocommit=True) as c:  # what `supabase db push` of the first file leaves
        c.execute(CLI_HISTORY)
        c.execute(CLI_FILES[first].replace(" if not exists", ""))
        c.execute("insert into supabase_migrations.schema_migrations (version, name, statements)"
                  " values ('20240414161707', 'team-setup', array[%s])", [CLI_FILES[first]])
    ctx = Context(empty_db, dataclasses.replace(test_settings, migrations_dir=folder))
    outcome = apply_migrations(ctx)
    assert outcome.failure is None and outcome.applied == sorted(CLI_FILES)[1:]
    with connect(empty_db) as c:
        history = [v for v, in c.execute("select version from supabase_migrations.schema_migrations order by 1")]
        ledger = read_ledger(c)
    assert history == ["20240414161707", "20240414161708", "20240501000000"]  # db push would apply nothing
    states = {row["version"]: row["state"] for row in status_table(discover(folder), ledger)}
    assert states == {"20240414161707": "applied (Supabase CLI)", "20240414161708": "applied",
                      "20240501000000": "applied"}
    assert [r.outcome for r in ledger_drift(discover(folder), ledger)] == [Outcome.PASSED]
    assert apply_migrations(ctx).applied == []


def test_files_as_the_cli_writes_them_apply_with_idempotency_a_warning(empty_db: str, test_settings: Settings,
                                                                       tmp_path: Path) -> None:
    folder = _project(tmp_path)
    for path in folder.iterdir():  # the CLI expects no IF NOT EXISTS
        path.write_text(path.read_text().replace(" if not exists", ""))
    ctx = Context(empty_db, dataclasses.replace(test_settings, migrations_dir=folder))
    outcome = apply_migrations(ctx)
    assert outcome.failure is None and len(outcome.applied) == 3
    assert {(r.check_id, r.outcome) for r in outcome.results if r.check_id == "HS006"} == {("HS006", Outcome.WARNED)}
    strict = Context(empty_db, dataclasses.replace(ctx.settings, lint_severity=(("HS006", "error"),)))
    (folder / "20240601000000_more.sql").write_text("create table public.more (id int primary key);\n")
    refused = apply_migrations(strict)
    assert refused.applied == [] and "refused" in str(refused.failure)
    # the three applied files are not judged again: one passing record each, naming what the lint finds
    again = [r for r in refused.results if r.object in sorted(CLI_FILES)]
    assert [(r.check_id, r.outcome) for r in again] == [("HS000", Outcome.PASSED)] * 3
    assert "already applied" in again[0].message and "HS006 x1" in again[0].message


@pytest.mark.parametrize("raw, expected", [
    ({"HS006": "error", "hs003": "Warn"}, (("HS006", "error"), ("HS003", "warn"))),
    ("HS006=off, HS001=warn", (("HS006", "off"), ("HS001", "warn"))),
])
def test_lint_levels_come_from_the_project_or_the_environment(tmp_path: Path, raw: object, expected: tuple) -> None:
    if isinstance(raw, dict):
        settings = Settings.resolve(tmp_path, project={"lint_severity": raw}, environ={})
    else:
        settings = Settings.resolve(tmp_path, environ={"HEALSTACK_LINT_SEVERITY": str(raw)})
    assert settings.lint_severity == expected


@pytest.mark.parametrize("raw", ["HS006=fatal", "HS401=off", "nonsense"])
def test_a_bad_lint_level_is_one_line(tmp_path: Path, raw: str) -> None:
    with pytest.raises(ConfigError, match="is not a migration lint rule"):
        Settings.resolve(tmp_path, environ={"HEALSTACK_LINT_SEVERITY": raw})
