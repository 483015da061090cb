"""The `healstack` command. Guardrail commands (apply, verify, rehearsal, dq) run the checks through pytest;
arguments the command does not know go to pytest (`healstack verify -k rls`). Bad input is one line and a
non-zero exit, never a traceback."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from healstack import __version__, registry
from healstack.config import Settings
from healstack.context import Context
from healstack.db import connect
from healstack.declarations import load_waivers
from healstack.delta import render_delta
from healstack.errors import ConfigError, HealstackError
from healstack.migrate.files import discover
from healstack.migrate.lint import lint_all
from healstack.redact import redact
from healstack.registry import Phase
from healstack.results import ExitCode, Outcome
from healstack.rls.contract import load_contract
from healstack.rls.pgtap import export as export_pgtap
from healstack.rls.run import unknown_columns
from healstack.rls.scaffold import entries as scaffold_entries
from healstack.rls.scaffold import render as render_scaffold
from healstack.run import Actions
from healstack.runner import run_guardrails
from healstack.sqlfiles import query
from healstack.target import open_target
from healstack.verify.run import delta_for

DATA_JOBS = {"retention": "delete rows past the retention policy, each batch backed up and read back first "
                          "(--dry-run: count them)",
             "backup": "the policy's backup tables to backups/, counts checked in one snapshot; keeps the last 7",
             "restore": "put a backup's rows back (rows already there are left alone)",
             "export-training": "agent feedback and its queries as training data, emails, phone numbers and names "
                                "redacted and checked a second time (--format json|csv, --out FILE)"}
GUARDRAIL_COMMANDS = frozenset({"apply", "verify", "rehearsal", "dq", "health", "preflight", "doctor", "ingest"})


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="healstack", description=__doc__)
    parser.add_argument("--version", action="version", version=f"healstack {__version__}")
    parser.add_argument("--migrations", type=Path, help="migrations directory (default: ./migrations)")
    parser.add_argument("--reports", type=Path, help="where reports and evidence go (default: ./reports)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p_apply = sub.add_parser("apply", help="apply pending migrations to the target, then check the apply phase")
    p_apply.add_argument("--dry-run", action="store_true", help="list what would be applied; change nothing")
    p_apply.add_argument("--rehearse-rollback", action="store_true",
                         help="only the rollback rehearsal: up, rollback, compare catalogs, up again, in a "
                              "throwaway database")
    p_apply.add_argument("--keep", action="store_true",
                         help="leave the embedded server running afterwards (prints how to stop it)")
    p_rehearsal = sub.add_parser("rehearsal", help="the staging runbook end to end: preflight, apply, every "
                                 "guardrail, the ETL's pull, the doctor, the report")
    p_rehearsal.add_argument("--keep", action="store_true", help="leave the embedded server running afterwards")
    sub.add_parser("preflight", help="what must hold before anything touches the target")
    p_doctor = sub.add_parser("doctor", help="every guardrail; heal what is safe, check again, ticket the rest")
    heal = p_doctor.add_mutually_exclusive_group()
    heal.add_argument("--heal", dest="heal", action="store_true", default=None,
                      help="heal (the default on the embedded default)")
    heal.add_argument("--no-heal", dest="heal", action="store_false",
                      help="only diagnose (the default against DATABASE_URL)")
    sub.add_parser("verify", help="every guardrail against the target, changing nothing")
    sub.add_parser("ingest", help="pull every declared source, then the ETL's guardrails: a dry run and the same "
                   "pull again write nothing, last runs, freshness, metrics, natural keys")
    p_dq = sub.add_parser("dq", help="the data-quality rules alone")
    p_dq.add_argument("--full", action="store_true",
                      help="check every row, also for rules declared incremental (moves no mark)")
    sub.add_parser("health", help="the database's health (audits, slow statements, the stack's query plans) "
                   "and the index lints")
    sub.add_parser("lint", help="migration safety lint of the files alone (no database)")
    sub.add_parser("checks", help="list every check healstack runs: id, phase, severity, meaning")

    p_rls = sub.add_parser("rls", help="the RLS contract")
    rls_sub = p_rls.add_subparsers(dest="rls_command", required=True, metavar="RLS_COMMAND")
    p_export = rls_sub.add_parser("export-pgtap", help="write the contract as pgTAP tests (supabase/tests)")
    p_export.add_argument("directory", type=Path, help="where the .test.sql files go, e.g. supabase/tests")
    p_scaffold = rls_sub.add_parser("scaffold", help="write a starting contract from the live policies and grants")
    p_scaffold.add_argument("--out", type=Path, help="where to write it (default: the rls_contract setting)")
    p_scaffold.add_argument("--force", action="store_true", help="replace an existing file")

    p_delta = sub.add_parser("delta", help="write the migration that brings the target to migrations/")
    p_delta.add_argument("--out", type=Path, help="file to write (default: standard output)")
    p_delta.add_argument("--online", action="store_true",
                         help="concurrent index builds outside a transaction, foreign keys validated separately")
    sub.add_parser("etl", help="the ETL: healstack etl pull|backfill|metrics ... (see healstack etl --help)",
                   add_help=False)
    for name, about in DATA_JOBS.items():
        sub.add_parser(name, help=about, add_help=False)
    return parser


def _guardrails(args: argparse.Namespace, settings: Settings, extra: list[str]) -> int:
    keep = getattr(args, "keep", False)
    if args.command == "apply":
        if args.rehearse_rollback:
            return run_guardrails(settings, phases=[Phase.ROLLBACK], keep=keep, extra=extra)
        return run_guardrails(settings, phases=[Phase.APPLY], actions=Actions(apply=True, dry_run=args.dry_run),
                              keep=keep, extra=extra)
    if args.command == "rehearsal":
        return run_guardrails(settings, actions=Actions(apply=True, etl=True, doctor=True), keep=keep, extra=extra)
    if args.command == "preflight":
        return run_guardrails(settings, phases=[Phase.PREFLIGHT], extra=extra)
    if args.command == "doctor":
        return run_guardrails(settings, actions=Actions(doctor=True, heal=args.heal), extra=extra)
    if args.command == "dq":
        return run_guardrails(settings, phases=[Phase.DQ], extra=extra)
    if args.command == "health":
        return run_guardrails(settings, phases=[Phase.LINTS, Phase.HEALTH], extra=extra)
    if args.command == "ingest":
        return run_guardrails(settings, phases=[Phase.ETL], actions=Actions(etl=True), extra=extra)
    return run_guardrails(settings, extra=extra)


def _cmd_lint(settings: Settings) -> int:
    results = lint_all(discover(settings.migrations_dir), dict(settings.lint_severity),
                       waivers=load_waivers(settings.lint_waivers))
    for r in results:
        if r.outcome is not Outcome.PASSED:
            print(r.line())
    failed = sum(r.outcome is Outcome.FAILED for r in results)
    print(f"migration lint: {len(results) - failed} ok, {failed} refused")
    return ExitCode.REFUSED if failed else ExitCode.OK


def _cmd_delta(args: argparse.Namespace, settings: Settings) -> int:
    with open_target(settings, migrated=True) as target:
        delta = delta_for(Context(target.dsn, settings), online=args.online)
    if not delta.differences:
        print("no difference: the target matches migrations/", file=sys.stderr)
        return 0
    text = render_delta(delta, online=args.online)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"delta written to {args.out}: {delta.count} statements, {len(delta.refused)} refused",
              file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 3 if delta.refused else 1


def _cmd_export_pgtap(args: argparse.Namespace, settings: Settings) -> int:
    """The contract as pgTAP files, once it is known to fit the schema (checked against the target)."""
    contracts = load_contract(settings.rls_contract)
    with open_target(settings, migrated=True) as target, connect(target.dsn) as conn:
        columns = {name: set(cols) for name, cols, *_ in conn.execute(query("healstack.rls", "tables"))}
    problems = [f"{table}: {problem}" for table, problem in unknown_columns(contracts, columns).items()]
    problems += [f"{table}: not in the database" for table in sorted(contracts.keys() - columns.keys())]
    if problems:
        raise ConfigError(f"{settings.rls_contract.name} does not fit the schema, nothing written: {problems[0]}"
                          + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    written = export_pgtap(contracts, args.directory)
    print(f"wrote {len(written)} pgTAP files to {args.directory}")
    return 0


def _cmd_scaffold(args: argparse.Namespace, settings: Settings) -> int:
    """A starting contract for the migrated target, never over one a person may have edited."""
    out = args.out or settings.rls_contract
    if out.exists() and not args.force:
        raise ConfigError(f"{out} exists; pass --out for another file, or --force to replace it")
    with open_target(settings, migrated=True) as target, connect(target.dsn) as conn:
        found = scaffold_entries(conn)
        text = render_scaffold(found, "DATABASE_URL" if target.embedded is None
                               else f"{settings.migrations_dir} applied to an embedded server")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    unsure = sum(1 for e in found if e.notes)
    print(f"wrote {out}: {len(found)} tables" + (f", {unsure} with notes to review (# healstack: ...)" if unsure
                                                 else ""))
    return 0


def _dispatch(args: argparse.Namespace, extra: list[str]) -> int:
    if args.command == "checks":
        print("\n".join(registry.markdown_table()))
        return 0
    if args.command == "etl":
        from healstack.etl.cli import main as etl_main  # the ETL's own parser takes the rest
        return etl_main(extra)
    if args.command == "export-training":
        from healstack.export.cli import main as export_main  # its own parser takes the rest
        return export_main(extra, Settings.for_cli(migrations=args.migrations, reports=args.reports))
    if args.command in DATA_JOBS:
        from healstack.retention.cli import main as job_main
        return job_main(args.command, extra, Settings.for_cli(migrations=args.migrations, reports=args.reports))
    if extra and args.command not in GUARDRAIL_COMMANDS:
        raise HealstackError(f"unrecognized arguments: {' '.join(extra)}")
    settings = Settings.for_cli(migrations=args.migrations, reports=args.reports,
                                dq_mode="full" if getattr(args, "full", False) else None)
    if args.command in GUARDRAIL_COMMANDS:
        return _guardrails(args, settings, extra)
    if args.command == "delta":
        return _cmd_delta(args, settings)
    if args.command == "rls" and args.rls_command == "scaffold":
        return _cmd_scaffold(args, settings)
    if args.command == "rls":
        return _cmd_export_pgtap(args, settings)
    return _cmd_lint(settings)


def main(argv: Sequence[str] | None = None) -> int:
    args, extra = _parser().parse_known_args(argv)
    try:
        return _dispatch(args, extra)
    except HealstackError as e:
        print(f"healstack: error: {redact(str(e))}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("healstack: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug, not bad input: still one line unless asked for the trace
        if os.environ.get("HEALSTACK_DEBUG"):
            traceback.print_exc()
        print(f"healstack: internal error: {redact(f'{type(e).__name__}: {e}')} "
              "(set HEALSTACK_DEBUG=1 for the traceback)", file=sys.stderr)
        return 70


if __name__ == "__main__":
    sys.exit(main())
