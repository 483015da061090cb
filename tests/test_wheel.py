"""healstack works when installed from its wheel (not editable) into a fresh virtual environment, in a project
folder of its own: the CLI and `pytest --pyargs healstack.checks` read that folder's migrations and contract,
and write reports there, never into the install directory."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from repo import REPO

from healstack.db import connect

# packaging does not depend on the server's version: once, in the Postgres 18 run
pytestmark = pytest.mark.any_postgres

MIGRATION = """\
create table if not exists public.notes (
    id bigint generated always as identity primary key,
    project text not null,
    body text not null
);
alter table public.notes enable row level security;
alter table public.notes force row level security;
do $$
begin
    if not exists (select from pg_policies where schemaname = 'public' and tablename = 'notes'
                   and policyname = 'notes_select_own') then
        create policy notes_select_own on public.notes for select to authenticated
        using (project = (select auth.jwt() -> 'app_metadata' ->> 'project'));
    end if;
end
$$;
"""
CONTRACT = '[notes]\ntenant = "project"\nselect = ["tenant"]\nsample = { body = "note {n}" }\n'


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the sources (a build in place would leave build/ in the checkout)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "healstack", source / "healstack", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
                   check=True, capture_output=True, timeout=300)
    [built] = out.glob("healstack-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed; its dependencies come from this test run's environment
    (appended to sys.path by a .pth file), so the test needs no network and installs healstack only."""
    env = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True, timeout=120)
    subprocess.run([str(env / "bin" / "pip"), "install", "-q", "--no-deps", str(wheel)], check=True,
                   capture_output=True, timeout=300)
    [purelib] = env.glob("lib/python3*/site-packages")
    ours = [p for p in {sysconfig.get_paths()["purelib"], *site.getsitepackages()} if Path(p).is_dir()]
    (purelib / "zz_test_dependencies.pth").write_text("\n".join(ours) + "\n")
    return env


def test_the_wheel_holds_healstack_alone_with_its_sql_checks_and_types(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names if not n.startswith("healstack-")} == {"healstack"}
    assert "healstack/checks/test_guardrails.py" in names and "healstack/py.typed" in names
    assert "healstack/catalog/sql/relations.sql" in names and "healstack/etl/loader.py" in names
    stand_ins = "healstack/standins/extension/"
    assert {f"{stand_ins}pg_net.control", f"{stand_ins}pg_net--0.19.sql"} <= set(names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "[pytest11]\nhealstack = healstack.plugin" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_cli_and_pytest_run_in_another_project_folder(venv: Path, empty_db: str, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "migrations").mkdir(parents=True)
    (project / "migrations" / "0001_notes.sql").write_text(MIGRATION)
    (project / "migrations" / "0001_notes.rollback.sql").write_text("drop table if exists public.notes;\n")
    (project / "checks").mkdir()
    (project / "checks" / "rls_contract.toml").write_text(CONTRACT)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEALSTACK_", "PYTEST_", "SUPABASE_"))}
    env["DATABASE_URL"] = empty_db
    python = str(venv / "bin" / "python")

    where = subprocess.run([python, "-c", "import healstack; print(healstack.__file__)"], capture_output=True,
                           text=True, env=env, cwd=project, check=True)
    assert where.stdout.startswith(str(venv)), where.stdout  # the wheel's copy, not the checkout's

    applied = subprocess.run([str(venv / "bin" / "healstack"), "apply"], capture_output=True, text=True, env=env,
                             cwd=project, timeout=300)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "applied 1 migrations" in applied.stdout
    with connect(empty_db) as conn:
        tables = conn.execute("select array_agg(relname::text order by relname) from pg_class"
                              " where relnamespace = 'public'::regnamespace and relkind = 'r'").fetchone()
    assert tables == (["notes"],)  # the project's migrations, not healstack's own stack

    checked = subprocess.run([python, "-m", "pytest", "--pyargs", "healstack.checks", "-p", "no:cacheprovider"],
                             capture_output=True, text=True, env=env, cwd=project, timeout=300)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    runs = [[json.loads(line) for line in path.read_text().splitlines()]
            for path in (project / "reports").glob("*/results.jsonl")]
    [records] = [run for run in runs if any(r["phase"] == "parity" for r in run)]  # the pytest run, not apply's
    assert {"HS104", "HS202", "HS300", "HS501", "HS503"} <= {r["check_id"] for r in records}
    assert not any(r["outcome"] in ("failed", "error") for r in records)
    assert not list(venv.glob("lib/python3*/site-packages/reports"))


def test_every_package_healstack_imports_is_a_declared_dependency() -> None:
    """The wheel's venv above borrows this environment's packages, so it cannot notice a missing dependency:
    every third-party module healstack imports must come from a distribution its pyproject declares (a fresh
    `nox -s rehearsal` once failed on `import pytest`)."""
    import ast
    import importlib.metadata
    import tomllib

    from packaging.requirements import Requirement

    declared = {Requirement(r).name.lower().replace("_", "-")
                for r in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]}
    providers = importlib.metadata.packages_distributions()
    imported = set()
    for path in (REPO / "healstack").rglob("*.py"):
        if "bench" in path.parts:  # `nox -s bench` installs its own group
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            imported |= {n.split(".")[0] for n in names}
    third_party = {m for m in imported - set(sys.stdlib_module_names) - {"healstack"}}
    missing = {m: providers.get(m) for m in third_party
               if not {d.lower().replace("_", "-") for d in providers.get(m, [])} & declared}
    assert not missing, f"imported but not declared in [project] dependencies: {missing}"
