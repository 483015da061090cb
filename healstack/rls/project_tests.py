"""The project's own pgTAP tests (`supabase/tests/**/*.sql`), run as `supabase test db` runs them: pgTAP
created in schema extensions where it is missing, each file through psql, each TAP line one result (HS504).
A file that stops on an error, or runs fewer tests than it planned, is a failure of its own."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from healstack.context import Context
from healstack.db import connect
from healstack.embedded import default_bindir
from healstack.redact import redact
from healstack.results import CheckResult, Outcome

TAP = re.compile(r"^(?P<failed>not )?ok (?P<n>\d+)(?: - (?P<text>.*?))?(?:\s+# (?P<directive>SKIP|TODO)\b.*)?$",
                 re.IGNORECASE)
PLAN = re.compile(r"^1\.\.(?P<planned>\d+)")
FILE_TIMEOUT_S = 600


def _psql(ctx: Context) -> str | None:
    bindir = ctx.settings.pg_bindir or default_bindir()
    candidate = bindir / "psql"
    return str(candidate) if candidate.exists() else shutil.which("psql")


def _pgtap_schema(ctx: Context) -> str | None:
    """The schema pgTAP lives in, created in extensions (as the Supabase CLI does) where it is missing."""
    with connect(ctx.dsn, autocommit=True) as conn:
        row = conn.execute("select extnamespace::regnamespace::text from pg_extension where extname = 'pgtap'"
                           ).fetchone()
        if row:
            return str(row[0])
        available = conn.execute("select exists (select from pg_available_extensions where name = 'pgtap')"
                                 ).fetchone()
        if not (available and available[0]):
            return None
        conn.execute("create schema if not exists extensions")
        conn.execute("create extension if not exists pgtap with schema extensions")
    return "extensions"


def project_tests(ctx: Context) -> list[CheckResult]:
    folder = ctx.settings.db_tests
    files = sorted(folder.rglob("*.sql")) if folder.is_dir() else []
    if not files:
        return []
    psql = _psql(ctx)
    schema = _pgtap_schema(ctx)
    if psql is None or schema is None:
        missing = "psql" if psql is None else "pgTAP (the pgtap extension)"
        return [CheckResult("HS504", Outcome.NOT_EVALUATED, str(folder), f"{len(files)} pgTAP files, but this "
                            f"server has no {missing} to run them with")]
    # pgTAP calls its own helpers unqualified: its schema goes on the path, as on Supabase
    env = {**os.environ, "PGOPTIONS": f"-c search_path=\"$user\",public,{schema}"}
    results: list[CheckResult] = []
    for path in files:
        results += run_file(psql, ctx.dsn, path, path.relative_to(folder).as_posix(), env)
    return results


def run_file(psql: str, dsn: str, path: Path, name: str, env: dict[str, str]) -> list[CheckResult]:
    """One file's TAP lines as results, and its plan and errors as one more where they went wrong."""
    try:
        done = subprocess.run([psql, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f", str(path)],
                              capture_output=True, text=True, env=env, timeout=FILE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return [CheckResult("HS504", Outcome.ERROR, name, f"did not finish within {FILE_TIMEOUT_S} s")]
    results, planned, last_failure = [], None, None
    for line in done.stdout.splitlines():
        line = line.strip()
        if plan := PLAN.match(line):
            planned = int(plan["planned"])
        elif tap := TAP.match(line):
            skipped = (tap["directive"] or "").upper() in ("SKIP", "TODO")
            outcome = Outcome.NOT_EVALUATED if skipped else Outcome.FAILED if tap["failed"] else Outcome.PASSED
            result = CheckResult("HS504", outcome, f"{name}:{tap['n']}", tap["text"] or f"test {tap['n']}",
                                 {"file": name, "test": int(tap["n"]), "diagnostics": []})
            results.append(result)
            last_failure = result if outcome is Outcome.FAILED else None
        elif line.startswith("#") and last_failure is not None:
            last_failure.evidence["diagnostics"].append(line.lstrip("# "))
    if done.returncode != 0:
        error = next((e for e in reversed(done.stderr.splitlines()) if "ERROR" in e), done.stderr.strip()[-300:])
        results.append(CheckResult("HS504", Outcome.ERROR, name, f"stopped after {len(results)} tests: "
                                   f"{redact(error.split('ERROR:', 1)[-1].strip())}", {"file": name}))
    elif planned is not None and planned != len(results):
        results.append(CheckResult("HS504", Outcome.FAILED, name, f"planned {planned} tests, ran {len(results)}",
                                   {"file": name, "planned": planned}))
    elif not results:
        results.append(CheckResult("HS504", Outcome.FAILED, name, "no TAP output: is this a pgTAP test file?",
                                   {"file": name}))
    return results
