"""The expected schema: migrations/ applied to a fresh database, snapshotted."""

from __future__ import annotations

from healstack import catalog
from healstack.config import Settings
from healstack.db import connect, scratch_database
from healstack.embedded import embedded_server
from healstack.errors import ConfigError
from healstack.migrate.runner import apply


def _build(dsn: str, settings: Settings) -> tuple[catalog.Snapshot, str]:
    # the reference build is scaffolding: no evidence of its own apply is written
    apply(dsn, settings, throwaway=True)
    with connect(dsn) as conn:
        row = conn.execute("select current_user").fetchone()
        return catalog.take(conn), str(row[0] if row else "")


def reference_snapshot(settings: Settings, target_dsn: str | None = None) -> tuple[catalog.Snapshot, str]:
    """Snapshot of the migrations applied to a fresh database, and the role that applied them.

    The reference is built on the target's own server when it allows CREATE DATABASE, so both sides
    are deparsed by the same Postgres version; otherwise on an embedded server.
    """
    if target_dsn:
        try:
            with scratch_database(target_dsn, "healstack_reference") as dsn:
                return _build(dsn, settings)
        except ConfigError as e:
            if "CREATEDB" not in str(e):
                raise
    with embedded_server(settings.pg_bindir) as server:
        return _build(server.dsn(), settings)
