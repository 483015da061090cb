"""The contract exported as pgTAP runs under pg_prove (where pgTAP is installed) and fails on a defect."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from psycopg.conninfo import conninfo_to_dict
from repo import REPO

from healstack.db import connect
from healstack.rls.contract import load_contract

CONTRACTS = load_contract(REPO / "checks" / "rls_contract.toml")


def _export(directory) -> list:
    done = subprocess.run([sys.executable, "-m", "healstack", "rls", "export-pgtap", str(directory)],
                          capture_output=True, text=True, check=True)
    assert f"wrote {len(CONTRACTS)} pgTAP files" in done.stdout
    return sorted(directory.glob("*.test.sql"))


def test_export_writes_one_file_per_table(tmp_path):
    files = _export(tmp_path)
    assert [f.name for f in files] == [f"rls_{tc.label}.test.sql" for _, tc in sorted(CONTRACTS.items())]
    text = (tmp_path / "rls_facts.test.sql").read_text()
    assert text.startswith("-- RLS contract for public.facts") and "select plan(" in text and "rollback;" in text


def _prove(dsn: str, files: list) -> subprocess.CompletedProcess[str]:
    info = conninfo_to_dict(dsn)
    return subprocess.run(["pg_prove", "-h", str(info["host"]), "-p", str(info["port"]), "-U", str(info["user"]),
                           "-d", str(info["dbname"]), *map(str, files)], capture_output=True, text=True, timeout=300)


@pytest.fixture
def pgtap_db(migrated_db):
    with connect(migrated_db) as conn:
        available = conn.execute("select exists (select from pg_available_extensions where name = 'pgtap')").fetchone()
    if not (available and available[0]) or shutil.which("pg_prove") is None:
        message = "pgTAP or pg_prove is not installed for this server (CI installs both for Postgres 15)"
        if os.environ.get("HEALSTACK_REQUIRE_PGTAP"):
            pytest.fail(message)
        pytest.skip(message)
    return migrated_db


def test_exported_contract_passes_under_pg_prove(pgtap_db, tmp_path):
    done = _prove(pgtap_db, _export(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All tests successful" in done.stdout


def test_exported_contract_fails_on_a_defect(pgtap_db, tmp_path):
    with connect(pgtap_db, autocommit=True) as conn:
        conn.execute("alter table public.events disable row level security")
    done = _prove(pgtap_db, _export(tmp_path))
    assert done.returncode != 0
    assert "rls_events.test.sql" in done.stdout and "Failed" in done.stdout
