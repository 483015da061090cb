"""Settings resolved once from the environment (argument beats env beats default)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from healstack.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
_DURATION = re.compile(r"^\d+(ms|s|min)?$")


def _duration(name: str, default: str, env: dict[str, str]) -> str:
    value = env.get(name, default).strip()
    if not _DURATION.match(value):
        raise ConfigError(f"{name}={value!r} is not a duration; use e.g. 5s, 500ms or 2min")
    return value


@dataclass(frozen=True)
class Settings:
    """Where healstack points and how careful it is; see README "Configuration"."""

    database_url: str | None = None
    migrations_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "migrations")
    reports_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "reports")
    lock_timeout: str = "5s"
    statement_timeout: str = "5min"
    pg_bindir: Path | None = None
    lint_waivers: Path = field(default_factory=lambda: PROJECT_ROOT / "checks" / "lint_waivers.toml")
    rls_contract: Path = field(default_factory=lambda: PROJECT_ROOT / "checks" / "rls_contract.toml")
    dq_rules: Path = field(default_factory=lambda: PROJECT_ROOT / "checks" / "dq")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        env = dict(os.environ if environ is None else environ)
        url = env.get("DATABASE_URL") or env.get("SUPABASE_DB_URL") or None
        settings = cls(
            database_url=url,
            migrations_dir=Path(env.get("HEALSTACK_MIGRATIONS_DIR", PROJECT_ROOT / "migrations")),
            reports_dir=Path(env.get("HEALSTACK_REPORTS_DIR", PROJECT_ROOT / "reports")),
            lock_timeout=_duration("HEALSTACK_LOCK_TIMEOUT", "5s", env),
            statement_timeout=_duration("HEALSTACK_STATEMENT_TIMEOUT", "5min", env),
            pg_bindir=Path(env["HEALSTACK_PG_BINDIR"]) if env.get("HEALSTACK_PG_BINDIR") else None,
            lint_waivers=Path(env.get("HEALSTACK_LINT_WAIVERS", PROJECT_ROOT / "checks" / "lint_waivers.toml")),
            rls_contract=Path(env.get("HEALSTACK_RLS_CONTRACT", PROJECT_ROOT / "checks" / "rls_contract.toml")),
            dq_rules=Path(env.get("HEALSTACK_DQ_RULES", PROJECT_ROOT / "checks" / "dq")),
        )
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(settings, **given) if given else settings
