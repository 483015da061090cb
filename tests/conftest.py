"""Fixtures for healstack's own tests: one server per run, a migrated template, a clone per test.

The server is DATABASE_URL's (it must allow CREATE DATABASE) or an embedded one started once
(HEALSTACK_PG_BINDIR picks other binaries, e.g. a system Postgres 15). The schema is loaded once
into a template database; each test that needs it gets `CREATE DATABASE ... TEMPLATE` (the
pytest-postgresql noproc + template pattern) instead of re-running the migrations.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from etl_api import ENV
from guardrails import Guardrails
from hypothesis import HealthCheck, settings
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pytest_postgresql.janitor import DatabaseJanitor
from repo import REPO

from healstack.config import Settings
from healstack.db import connect
from healstack.embedded import EmbeddedServer, default_bindir
from healstack.migrate.runner import apply

settings.register_profile("ci", max_examples=12, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))

MIGRATIONS = REPO / "migrations"


def _janitor(server_dsn: str, dbname: str, **kwargs: Any) -> DatabaseJanitor:
    info = conninfo_to_dict(server_dsn)
    return DatabaseJanitor(user=str(info.get("user", "postgres")), host=str(info.get("host", "127.0.0.1")),
                           port=str(info.get("port", 5432)), password=info.get("password"), dbname=dbname,
                           maintenance_dbname=str(info.get("dbname", "postgres")), **kwargs)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """DSN of the maintenance database of the one server this run uses."""
    url = os.environ.get("DATABASE_URL") or os.environ.get("SUPABASE_DB_URL")
    if url:
        yield url
        return
    bindir = os.environ.get("HEALSTACK_PG_BINDIR")
    server = EmbeddedServer(Path(bindir) if bindir else default_bindir()).start()
    try:
        yield server.dsn()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def test_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings for tests: this repository's declarations, reports under a temp dir (never in reports/)."""
    return Settings.resolve(REPO, options={"reports": str(tmp_path_factory.mktemp("reports"))}, environ={})


@pytest.fixture(scope="session")
def migrated_template(pg_server: str, test_settings: Settings) -> Iterator[str]:
    """Name of a template database holding the fully migrated schema, built once per run."""
    name = f"healstack_tmpl_{os.getpid()}"
    janitor = _janitor(pg_server, name, as_template=True)
    janitor.drop()
    with janitor:
        janitor.load(lambda **_: apply(make_conninfo(pg_server, dbname=name), test_settings))
        yield name


def _new_db(pg_server: str, template: str | None) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:16]}"
    with _janitor(pg_server, name, template_dbname=template):
        yield make_conninfo(pg_server, dbname=name)


@pytest.fixture
def migrated_db(pg_server: str, migrated_template: str) -> Iterator[str]:
    """DSN of a fresh clone of the migrated template, dropped after the test."""
    yield from _new_db(pg_server, migrated_template)


@pytest.fixture(scope="session")
def dataset_template(pg_server: str, migrated_template: str) -> Iterator[str]:
    """A migrated template holding fixtures/health_dataset.sql (120,000 rows a table, 8 tenants), built once."""
    name = f"healstack_dataset_{os.getpid()}"
    janitor = _janitor(pg_server, name, template_dbname=migrated_template, as_template=True)
    janitor.drop()
    with janitor:
        with connect(make_conninfo(pg_server, dbname=name), autocommit=True) as c:
            c.execute((REPO / "fixtures" / "health_dataset.sql").read_bytes())
        yield name


@pytest.fixture
def dataset_db(pg_server: str, dataset_template: str) -> Iterator[str]:
    """DSN of a fresh clone of the dataset template, dropped after the test."""
    yield from _new_db(pg_server, dataset_template)


@pytest.fixture
def empty_db(pg_server: str) -> Iterator[str]:
    """DSN of a fresh empty database (nothing applied), dropped after the test."""
    yield from _new_db(pg_server, None)


@pytest.fixture
def conn(migrated_db: str) -> Iterator[psycopg.Connection[Any]]:
    with connect(migrated_db, autocommit=True) as c:
        yield c


@pytest.fixture
def against(monkeypatch: pytest.MonkeyPatch, migrated_db: str) -> str:
    """Point checks/ (run through pytester) at a fresh migrated clone; returns its DSN."""
    monkeypatch.setenv("DATABASE_URL", migrated_db)
    monkeypatch.delenv("SUPABASE_DB_URL", raising=False)
    return migrated_db


@pytest.fixture
def migrations_copy(tmp_path: Path) -> Path:
    """A writable copy of migrations/ for tests that seed defects into the files."""
    target = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, target)
    return target


@pytest.fixture
def guardrails(pytester: pytest.Pytester, migrated_db: str, migrations_copy: Path) -> Guardrails:
    """healstack.checks against a fresh migrated clone, with this repository's declarations."""
    return Guardrails(pytester, migrated_db, migrations_copy)


@pytest.fixture
def api_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every source's variables pointed at respx-served hosts (tests/etl_api.py), with a known token."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
