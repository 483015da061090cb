"""The database every phase works on: DATABASE_URL if set, else a fresh embedded server."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from healstack.config import Settings
from healstack.embedded import EmbeddedServer, default_bindir
from healstack.migrate.runner import apply
from healstack.redact import redact_dsn


@dataclass(frozen=True)
class Target:
    dsn: str
    embedded: EmbeddedServer | None

    @property
    def shown(self) -> str:
        """The DSN as it may appear in output: password masked."""
        return redact_dsn(self.dsn)

    @property
    def description(self) -> str:
        if self.embedded is None:
            return f"{self.shown} (DATABASE_URL)"
        return f"{self.shown} (embedded Postgres {self.embedded.version}, data in {self.embedded.datadir})"

    def stop_hint(self) -> str | None:
        """How to stop an embedded server left running with --keep."""
        if self.embedded is None:
            return None
        return f"{self.embedded.bindir}/pg_ctl -D {self.embedded.datadir} stop"


@contextlib.contextmanager
def open_target(settings: Settings, *, keep: bool = False, migrated: bool = False) -> Iterator[Target]:
    """Yield the target; an embedded server is stopped and deleted afterwards unless ``keep``.

    With ``migrated``, an embedded target gets every migration first: it starts empty, and a phase that
    judges a stack (the ETL, data quality) would otherwise judge a void."""
    if settings.database_url:
        yield Target(settings.database_url, None)
        return
    server = EmbeddedServer(settings.pg_bindir or default_bindir()).start()
    try:
        if migrated:
            apply(server.dsn(), settings)
        yield Target(server.dsn(), server)
    finally:
        if not keep:
            server.stop()
