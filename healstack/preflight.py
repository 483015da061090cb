"""Preflight, the first phase of every run: what must hold before anything touches the target. Settings and
declaration files, the database reachable within a timeout, a supported server, the extensions the migrations
create, Supabase's roles, the connection's path and what it means, the stack's time zone, each source's
credentials (never printed). A failure here stops the run before the phases that would fail for its reason."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import psycopg
from pglast import ast

from healstack.config import Settings
from healstack.context import Context
from healstack.db import connect, server_facts
from healstack.declarations import load_waivers
from healstack.dq.rules import load_rules
from healstack.errors import HealstackError
from healstack.etl.stack import declared
from healstack.migrate.files import discover
from healstack.migrate.statements import split
from healstack.pooler import ConnectionPath, detect
from healstack.results import CheckResult, Outcome
from healstack.rls.contract import load_contract

API_ROLES = ("anon", "authenticated", "service_role", "authenticator")
SUPPORTED = range(15, 19)
# what stops a run at once: settings it cannot use, a target it cannot reach, a server it was not built for
BLOCKING = frozenset({"HS601", "HS602", "HS603"})


def check_declarations(settings: Settings) -> None:
    """Read every declaration the checks will read, so bad input is one line before anything runs."""
    discover(settings.migrations_dir)
    load_waivers(settings.lint_waivers)
    if settings.rls_contract.exists() or "rls_contract" in settings.explicit:
        load_contract(settings.rls_contract)
    if settings.dq_rules.exists() or "dq_rules" in settings.explicit:
        load_rules(settings.dq_rules)
    declared(settings)


def _extensions(settings: Settings) -> set[str]:
    """The extensions the migrations create (top-level CREATE EXTENSION statements)."""
    return {s.node.extname for m in discover(settings.migrations_dir) for s in split(m.text, m.label)
            if isinstance(s.node, ast.CreateExtensionStmt) and s.node.extname}


def _on_server(conn: psycopg.Connection[Any], ctx: Context, embedded: bool) -> list[CheckResult]:
    settings = ctx.settings
    facts = server_facts(conn)
    row = conn.execute("select current_setting('server_version_num')::int / 10000").fetchone()
    major = int(row[0]) if row else 0
    results = [CheckResult("HS603", Outcome.PASSED if major in SUPPORTED else Outcome.FAILED,
                           f"Postgres {facts['server_version']}", f"Postgres {major}" + (
                               "" if major in SUPPORTED else " is not supported (15 to 18)"), {"major": major})]
    available = {r[0] for r in conn.execute("select name from pg_available_extensions")}
    missing = sorted(_extensions(settings) - available)
    results.append(CheckResult("HS604", Outcome.FAILED if missing else Outcome.PASSED, "extensions",
                               f"not available on the server: {', '.join(missing)}" if missing else
                               "every extension the migrations create is available", {"missing": missing}))
    roles = {r[0] for r in conn.execute("select rolname from pg_roles where rolname = any(%s)", [list(API_ROLES)])}
    absent = [r for r in API_ROLES if r not in roles]
    results.append(CheckResult(
        "HS605", Outcome.WARNED if absent and not embedded else Outcome.PASSED, "roles",
        "present" if not absent else f"missing {', '.join(absent)}: " + (
            "the embedded default's apply creates them" if embedded else "apply creates them (needs CREATEROLE)")))
    path = ConnectionPath(settings.pooler) if settings.pooler else detect(ctx.dsn)
    results.append(CheckResult("HS606", Outcome.WARNED if path is ConnectionPath.TRANSACTION_POOLER
                               else Outcome.PASSED, path.value, f"{path.value}: {path.meaning()}",
                               {**{k: str(v) for k, v in facts.items()}, "configured": bool(settings.pooler)}))
    zone = conn.execute("select exists (select from pg_timezone_names where name = %s)",
                        [settings.timezone]).fetchone()
    results.append(CheckResult("HS607", Outcome.PASSED if zone and zone[0] else Outcome.FAILED, settings.timezone,
                               "a time zone the server knows" if zone and zone[0] else "unknown to the server"))
    return results


def _credentials(settings: Settings, embedded: bool, environ: Mapping[str, str]) -> list[CheckResult]:
    results = []
    for source in declared(settings):
        missing = source.missing(environ)
        if not missing:
            results.append(CheckResult("HS608", Outcome.PASSED, source.name, "credentials present"))
        elif embedded and source.fixtures is not None and source.fixtures.is_dir():
            results.append(CheckResult("HS608", Outcome.PASSED, source.name,
                                       f"not configured here; its recorded pages stand in ({source.fixtures})"))
        else:
            results.append(CheckResult("HS608", Outcome.WARNED, source.name,
                                       f"not configured: set {', '.join(missing)}", {"missing": missing}))
    return results


def preflight(ctx: Context, embedded: bool, environ: Mapping[str, str] | None = None) -> list[CheckResult]:
    """Every preflight check; never raises for what it is there to find."""
    env = os.environ if environ is None else environ
    try:
        check_declarations(ctx.settings)
    except HealstackError as e:
        return [CheckResult("HS601", Outcome.FAILED, "settings", str(e))]
    results = [CheckResult("HS601", Outcome.PASSED, "settings", "settings and declaration files read",
                           {"explicit": sorted(ctx.settings.explicit)}), *_credentials(ctx.settings, embedded, env)]
    try:
        with connect(ctx.dsn, autocommit=True) as conn:
            results.append(CheckResult("HS602", Outcome.PASSED, "database", "reachable"))
            results += _on_server(conn, ctx, embedded)
    except HealstackError as e:
        results.append(CheckResult("HS602", Outcome.FAILED, "database", str(e)))
    return results


def blocking(results: list[CheckResult]) -> CheckResult | None:
    """The preflight failure that stops the run, if any."""
    return next((r for r in results if r.check_id in BLOCKING and r.outcome.failing), None)
