"""Find forward migrations and their rollbacks on disk, in version order."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from healstack.declarations import read_text
from healstack.errors import ConfigError
from healstack.sqltree import outside_transaction_alone

# What the Supabase CLI accepts (its migrateFilePattern, ^([0-9]+)_(.*)\.sql$): digits, an underscore, anything:
# NNNN_name.sql, YYYYMMDDHHMMSS_name.sql, 20240414161707_team-setup.sql.
_NAME = re.compile(r"^(?P<version>\d+)_(?P<name>.*)\.sql$")
_ROLLBACK_SUFFIX = ".rollback.sql"
NO_TRANSACTION = "-- healstack: no-transaction"


@dataclass(frozen=True)
class Migration:
    """One forward file and its rollback companion."""

    version: str
    name: str
    path: Path

    @property
    def rollback_path(self) -> Path:
        return self.path.with_name(self.path.name[: -len(".sql")] + _ROLLBACK_SUFFIX)

    @cached_property
    def text(self) -> str:
        # Line endings are normalised so a checkout with CRLF does not look like drift.
        return read_text(self.path).replace("\r\n", "\n")

    @cached_property
    def checksum(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @cached_property
    def transactional(self) -> bool:
        """False when the file opts out (CREATE INDEX CONCURRENTLY cannot run in a transaction), or when its one
        statement is such a statement: Postgres runs a lone statement in a transaction of its own anyway."""
        return NO_TRANSACTION not in self.text and not outside_transaction_alone(self.text)

    @property
    def label(self) -> str:
        return self.path.name


def discover(directory: Path) -> list[Migration]:
    """Forward migrations in version order; a stray or duplicate file is a clear error."""
    if not directory.is_dir():
        raise ConfigError(f"migrations directory not found: {directory}")
    found: dict[str, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        if path.name.endswith(_ROLLBACK_SUFFIX):
            forward = path.with_name(path.name[: -len(_ROLLBACK_SUFFIX)] + ".sql")
            if not forward.exists():
                raise ConfigError(f"{path.name}: rollback without a forward migration {forward.name}")
            continue
        match = _NAME.match(path.name)
        if match is None:
            raise ConfigError(f"{path.name}: migration files are named <digits>_<name>.sql, e.g. 0001_init.sql or "
                              "20240414161707_team-setup.sql")
        version = match["version"]
        if version in found:
            raise ConfigError(f"{path.name}: version {version} is also used by {found[version].label}")
        found[version] = Migration(version=version, name=match["name"], path=path)
    return sorted(found.values(), key=lambda m: m.path.name)  # the CLI's order: file names, as listed
