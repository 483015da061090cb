"""Property: any order of apply, re-apply, rollback and rehearsal, then apply, ends in the same catalog."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st
from psycopg.conninfo import make_conninfo

from healstack import catalog
from healstack.db import connect, throwaway_database
from healstack.evidence import EvidenceLog
from healstack.migrate.files import discover
from healstack.migrate.ledger import read_ledger
from healstack.migrate.rehearsal import rehearse_one, rollback_of
from healstack.migrate.runner import apply, execute
from healstack.results import Outcome

OPERATIONS = st.lists(st.sampled_from(["apply", "reapply", "rollback_last", "rehearse_last"]), max_size=5)


class Reference:
    """The migrated template's catalog; a short repr keeps hypothesis's failure report readable."""

    def __init__(self, snapshot: catalog.Snapshot) -> None:
        self.snapshot = snapshot

    def __repr__(self) -> str:
        return f"Reference({sum(len(v) for v in self.snapshot.values())} objects)"


@pytest.fixture(scope="module")
def reference(pg_server, migrated_template):
    with connect(make_conninfo(pg_server, dbname=migrated_template)) as conn:
        return Reference(catalog.take(conn))


@pytest.mark.slow
@given(operations=OPERATIONS)
def test_any_sequence_converges(pg_server, test_settings, reference, operations):
    migrations = {m.version: m for m in discover(test_settings.migrations_dir)}
    log = EvidenceLog(None, "property")  # nothing to keep
    with throwaway_database(pg_server, f"p_{uuid.uuid4().hex[:12]}") as dsn:
        for operation in operations:
            with connect(dsn, autocommit=True) as conn:
                applied = sorted(read_ledger(conn), key=int)
                last = migrations[applied[-1]] if applied else None
                if operation == "apply":
                    apply(dsn, test_settings)
                elif operation == "reapply":
                    for version in applied:
                        execute(conn, migrations[version], test_settings, log)
                elif operation in ("rollback_last", "rehearse_last") and last is not None:
                    execute(conn, rollback_of(last), test_settings, log)
                    conn.execute("delete from healstack.schema_migrations where version = %s", [last.version])
                    if operation == "rehearse_last":  # from the state before it: up, rollback, up
                        assert rehearse_one(conn, last, test_settings, log)[0].outcome is Outcome.PASSED
        apply(dsn, test_settings)
        with connect(dsn) as conn:
            assert catalog.diff(reference.snapshot, catalog.take(conn)) == []
