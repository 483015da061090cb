"""nox sessions: the phases (apply, verify, rehearsal, dq, etl, delta), the project's tests on Postgres 18 and
15, lint, and benchmarks.

Arguments after `--` are forwarded: `nox -s apply -- --dry-run`, `nox -s tests -- -k rehearsal`.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import nox

nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "tests"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
SYSTEM_PG15 = Path(os.environ.get("HEALSTACK_PG15_BINDIR", "/usr/lib/postgresql/15/bin"))


def _install(session: nox.Session, *groups: str) -> None:
    # one pip run for the package and its groups: each run resolves everything again
    session.install("-e", ".", *(dep for group in groups for dep in nox.project.dependency_groups(PYPROJECT, group)))


# (name, variable the benchmark reads, executable, packages) of each compared tool's side environment
SIDE_TOOLS = (
    ("migra", "HEALSTACK_MIGRA", "migra", ("migra", "psycopg2-binary", "psycopg[binary]")),
    ("soda", "HEALSTACK_SODA_PYTHON", "python", ("soda-core-postgres",)),
    ("dlt", "HEALSTACK_DLT_PYTHON", "python", ("dlt[postgres]",)),
)


# The phase sessions run the `healstack` command, which runs the guardrails through pytest: the same checks,
# records and exit codes as `pytest --pyargs healstack.checks`. Arguments after `--` reach it (and pytest).
@nox.session(tags=["apply"])
def apply(session: nox.Session) -> None:
    """Apply every pending migration, then check the apply phase (DATABASE_URL, else an embedded Postgres)."""
    _install(session)
    session.run("healstack", "apply", *session.posargs)


@nox.session(tags=["rehearsal"])
def rehearsal(session: nox.Session) -> None:
    """The main job: the whole staging runbook on the target (DATABASE_URL, else an embedded Postgres)."""
    _install(session)
    session.run("healstack", "rehearsal", *session.posargs)


@nox.session(tags=["verify"])
def verify(session: nox.Session) -> None:
    """Every guardrail against the target, changing nothing (`nox -s verify -- -k rls` for one phase)."""
    _install(session)
    session.run("healstack", "verify", *session.posargs)


@nox.session(tags=["preflight"])
def preflight(session: nox.Session) -> None:
    """What must hold before anything touches the target: settings, reachability, server, roles, credentials."""
    _install(session)
    session.run("healstack", "preflight", *session.posargs)


@nox.session(tags=["doctor"])
def doctor(session: nox.Session) -> None:
    """Every guardrail; heal what is safe (`-- --heal` against DATABASE_URL), check again, ticket the rest."""
    _install(session)
    session.run("healstack", "doctor", *session.posargs)


@nox.session(tags=["dq"])
def dq(session: nox.Session) -> None:
    """The data-quality rules against the target."""
    _install(session)
    session.run("healstack", "dq", *session.posargs)


@nox.session(tags=["health"])
def health(session: nox.Session) -> None:
    """The database's health: audits with thresholds, the slowest statements, the stack's query plans."""
    _install(session)
    session.run("healstack", "health", *session.posargs)


@nox.session(tags=["retention"])
def retention(session: nox.Session) -> None:
    """Delete rows past checks/retention.toml, each batch backed up and read back first (-- --dry-run)."""
    _install(session)
    session.run("healstack", "retention", *session.posargs)


@nox.session(tags=["retention"])
def backup(session: nox.Session) -> None:
    """The policy's backup tables to backups/, counted in one snapshot; the last 7 kept."""
    _install(session)
    session.run("healstack", "backup", *session.posargs)


@nox.session(tags=["etl"])
def etl(session: nox.Session) -> None:
    """Pull every source, then the ETL's guardrails (`healstack ingest`); with arguments, the ETL command itself:
    `nox -s etl -- pull source-a --dry-run`, `-- backfill`, `-- metrics --from D --to D`."""
    _install(session)
    if session.posargs:
        session.run("healstack", "etl", *session.posargs)
    else:
        session.run("healstack", "ingest")


@nox.session(tags=["verify"])
def delta(session: nox.Session) -> None:
    """Write the migration that brings the target to migrations/ (`nox -s delta -- --out FILE`)."""
    _install(session)
    session.run("healstack", "delta", *session.posargs, success_codes=[0, 1, 3])


def _postgres_env(session: nox.Session, postgres: str) -> dict[str, str] | None:
    """The environment of one Postgres version's test run; None when Postgres 15 is absent (never in CI)."""
    if postgres == "18":
        return {}
    if not (SYSTEM_PG15 / "postgres").exists():
        message = f"no Postgres 15 server binaries in {SYSTEM_PG15} (set HEALSTACK_PG15_BINDIR)"
        if os.environ.get("CI"):
            session.error(message)
        session.warn(f"{message}: the Postgres 15 run is skipped")
        return None
    env = {"HEALSTACK_PG_BINDIR": str(SYSTEM_PG15)}
    if os.environ.get("CI"):
        env["HEALSTACK_REQUIRE_PGTAP"] = "1"  # CI installs pgTAP for 15: its run must not quietly skip
    return env


def _pytest(session: nox.Session, postgres: str, *, both: bool = False) -> list[str]:
    # tests that prove nothing about the server's version run once: in the Postgres 15 run when both run (it
    # has less else to do, so the two end nearer together), else in the one there is
    skip = "15" if not both else "18"
    once = ["-m", "not any_postgres"] if postgres == skip and not session.posargs else []
    return [str(Path(session.bin) / "pytest"), f"--html=reports/tests/pg{postgres}.html", "--self-contained-html",
            *once, *session.posargs]


@nox.session(tags=["test"])
def tests(session: nox.Session) -> None:
    """healstack's own tests on the embedded Postgres 18 and on a system Postgres 15, both runs at once (each
    with its one server): most of a test waits on its server, so two runs share two cores well. Each run's
    output is printed whole when both are done."""
    _install(session, "test")
    Path("reports/tests").mkdir(parents=True, exist_ok=True)
    runs = {}
    envs = {postgres: _postgres_env(session, postgres) for postgres in ("18", "15")}
    for postgres, env in envs.items():
        if env is not None:
            log = open(f"reports/tests/pg{postgres}.log", "w+", encoding="utf-8")  # noqa: SIM115 - closed below
            command = _pytest(session, postgres, both=envs["15"] is not None)
            runs[postgres] = (subprocess.Popen(command, env={**os.environ, **env}, stdout=log,
                                               stderr=subprocess.STDOUT), log)
    failed = []
    for postgres, (process, log) in runs.items():
        code = process.wait()
        log.seek(0)
        print(f"==== Postgres {postgres} ====", flush=True)
        print(log.read(), flush=True)
        log.close()
        if code != 0:
            failed.append(f"Postgres {postgres} (exit {code})")
    if failed:
        session.error("tests failed on " + ", ".join(failed))


@nox.session(name="tests-pg18", tags=["test"])
def tests_pg18(session: nox.Session) -> None:
    """healstack's own tests on the embedded Postgres 18 alone."""
    _install(session, "test")
    session.run(*_pytest(session, "18"), external=True)


@nox.session(name="tests-pg15", tags=["test"])
def tests_pg15(session: nox.Session) -> None:
    """healstack's own tests on a system Postgres 15 alone."""
    env = _postgres_env(session, "15")
    if env is None:
        session.skip("no Postgres 15")
    _install(session, "test")
    session.run(*_pytest(session, "15"), env=env, external=True)


@nox.session(tags=["lint"])
def lint(session: nox.Session) -> None:
    """ruff and mypy --strict on Python, sqlfluff on every SQL file, and healstack's migration safety lint."""
    _install(session, "lint")
    session.run("ruff", "check", ".")
    session.run("mypy")
    session.run("sqlfluff", "lint", "migrations", *sorted(str(p) for p in Path("healstack").glob("**/sql")))
    session.run("healstack", "lint")


@nox.session(tags=["bench"])
def bench(session: nox.Session) -> None:
    """Benchmarks; results in reports/bench/*.md (`nox -s bench -- apply` for one).

    The tools the benchmarks compare with (migra, Soda Core, dlt) each go in a side environment of their
    own: they pin psycopg2 and versions of their own. Where one cannot be installed the benchmark says so
    and carries on.
    """
    _install(session, "bench")
    env = {}
    for tool, variable, executable, packages in SIDE_TOOLS:
        side = Path(session.virtualenv.location).parent / f"bench-{tool}"
        try:
            session.run("python", "-m", "venv", str(side), external=True, silent=True)
            session.run(str(side / "bin" / "pip"), "install", "-q", *packages, external=True, silent=True)
            env[variable] = str(side / "bin" / executable)
        except nox.command.CommandFailed:
            session.warn(f"{tool} could not be installed in a side environment; it will not be measured")
    session.run("python", "-m", "healstack.bench", *session.posargs, env=env)
