"""Through a real pgbouncer, as Supabase's poolers stand in front of its databases: the connection path is
detected, checks run in either mode, and what a transaction pooler cannot do safely is refused in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from guardrails import Guardrails
from pgbouncer import available, pgbouncer
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from repo import REPO

from healstack.context import Context
from healstack.db import connect
from healstack.errors import ConfigError
from healstack.migrate.ledger import APPLY_LOCK_KEY
from healstack.migrate.runner import apply_migrations
from healstack.pooler import ConnectionPath, detect

pytestmark = pytest.mark.skipif(not available() and not os.environ.get("CI"),
                                reason="pgbouncer is not installed (CI installs it)")


@pytest.fixture(scope="module")
def session_pooler(pg_server) -> Iterator[str]:
    """The test server's maintenance database through pgbouncer in session mode."""
    with pgbouncer(pg_server, "session") as dsn:
        yield dsn


@pytest.fixture(scope="module")
def transaction_pooler(pg_server) -> Iterator[str]:
    """The same through pgbouncer in transaction mode (Supabase's port 6543)."""
    with pgbouncer(pg_server, "transaction") as dsn:
        yield dsn


@pytest.fixture(scope="module")
def busy_transaction_pooler(pg_server) -> Iterator[str]:
    """Transaction mode handing each transaction to the next backend in turn, as a busy pooler does."""
    with pgbouncer(pg_server, "transaction", round_robin=True) as dsn:
        yield dsn


@pytest.fixture(params=["session", "busy_transaction"])
def pooled_server(request) -> tuple[str, str]:
    """(mode, DSN) for each mode."""
    return request.param, request.getfixturevalue(f"{request.param}_pooler")


def _through(pooled: str, dsn: str) -> str:
    """The database of ``dsn``, reached through the pooler."""
    return make_conninfo(pooled, dbname=str(conninfo_to_dict(dsn)["dbname"]))


def test_the_connection_path_is_detected(pg_server, session_pooler, transaction_pooler):
    assert detect(pg_server) is ConnectionPath.DIRECT
    assert detect(session_pooler) is ConnectionPath.SESSION_POOLER
    assert detect(transaction_pooler) is ConnectionPath.TRANSACTION_POOLER


def test_every_guardrail_runs_through_either_pooler(pytester, pooled_server, migrated_db):
    """Before: automatic prepared statements failed with DuplicatePreparedStatement behind transaction pooling."""
    _, pooled = pooled_server
    result, records = Guardrails(pytester, _through(pooled, migrated_db), REPO / "migrations").run()
    assert result.ret == 0, result.stdout.str()
    assert {"HS104", "HS202", "HS300", "HS501"} <= {r["check_id"] for r in records}


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("HEALSTACK_", "DATABASE_URL"))}
    return subprocess.run([sys.executable, "-m", "healstack", *args], capture_output=True, text=True,
                          env={**environ, **env}, cwd=REPO, timeout=300)


@pytest.mark.parametrize("command", [["apply"], ["etl", "pull", "events", "--since", "2025-03-09"]],
                         ids=["apply", "etl"])
def test_a_transaction_pooler_is_refused_in_one_line_for_what_holds_a_lock(transaction_pooler, empty_db, tmp_path,
                                                                           command):
    env = {"DATABASE_URL": _through(transaction_pooler, empty_db), "HEALSTACK_REPORTS_DIR": str(tmp_path),
           "EVENTS_BASE_URL": "http://127.0.0.1:9/", "EVENTS_TOKEN": "tok-unused-123456"}
    done = _cli(*command, env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "cannot run through a transaction pooler" in line and "port 5432" in line
    with connect(empty_db) as conn:  # nothing was applied, and no lock was left on a pooled backend
        assert conn.execute("select to_regclass('healstack.schema_migrations')").fetchone() == (None,)
        assert conn.execute("select count(*) from pg_locks where locktype = 'advisory'").fetchone() == (0,)


def test_apply_through_a_session_pooler_holds_its_lock_only_while_it_runs(session_pooler, empty_db, test_settings):
    target = _through(session_pooler, empty_db)
    with connect(target, autocommit=True) as other_apply:
        other_apply.execute("select pg_advisory_lock(%s)", [APPLY_LOCK_KEY])
        with pytest.raises(ConfigError, match="another healstack apply is running"):
            apply_migrations(Context(target, test_settings))
    # the lock ended with its client's session: a direct apply afterwards is not turned away
    outcome = apply_migrations(Context(empty_db, test_settings))
    assert outcome.failure is None and outcome.applied


def test_the_path_can_be_configured_instead_of_detected(empty_db, test_settings):
    settings = test_settings.with_(pooler="transaction pooler")
    with pytest.raises(ConfigError, match="cannot run through a transaction pooler"):
        apply_migrations(Context(empty_db, settings))
