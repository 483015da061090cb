"""The `healstack` command: one subcommand per phase; bad input is one line and a non-zero exit."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from healstack import __version__
from healstack.config import Settings
from healstack.db import connect
from healstack.delta import render_delta
from healstack.dq.rules import load_rules
from healstack.dq.runner import run_rules
from healstack.errors import HealstackError
from healstack.evidence import EvidenceLog
from healstack.migrate.files import discover
from healstack.migrate.lint import lint_all
from healstack.migrate.rehearsal import rehearse_rollback
from healstack.migrate.runner import apply
from healstack.redact import redact
from healstack.rehearsal import run_rehearsal
from healstack.results import Outcome
from healstack.rls.contract import load_contract
from healstack.rls.pgtap import export as export_pgtap
from healstack.target import open_target
from healstack.verify.run import delta_for, verify


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="healstack", description=__doc__)
    parser.add_argument("--version", action="version", version=f"healstack {__version__}")
    parser.add_argument("--migrations", type=Path, help="migrations directory (default: ./migrations)")
    parser.add_argument("--reports", type=Path, help="where evidence is written (default: ./reports)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p_apply = sub.add_parser("apply", help="apply pending migrations to the target, with evidence")
    p_apply.add_argument("--dry-run", action="store_true", help="list what would be applied; change nothing")
    p_apply.add_argument("--rehearse-rollback", action="store_true",
                         help="in a throwaway database: up, rollback, compare catalogs, up again")
    p_apply.add_argument("--keep", action="store_true",
                         help="leave the embedded server running afterwards (prints how to stop it)")

    p_rehearsal = sub.add_parser("rehearsal", help="the staging runbook end to end: apply, rollback rehearsal, "
                                 "parity, lints, RLS contract, data quality")
    p_rehearsal.add_argument("--keep", action="store_true", help="leave the embedded server running afterwards")

    sub.add_parser("lint", help="migration safety lint (destructive or locking DDL)")
    sub.add_parser("verify", help="schema parity with migrations/ and the security lints, on the target")

    sub.add_parser("dq", help="run the data-quality rules (checks/dq/) on the target")

    p_rls = sub.add_parser("rls", help="the RLS contract")
    rls_sub = p_rls.add_subparsers(dest="rls_command", required=True, metavar="RLS_COMMAND")
    p_export = rls_sub.add_parser("export-pgtap", help="write the contract as pgTAP tests (supabase/tests)")
    p_export.add_argument("directory", type=Path, help="where the .test.sql files go, e.g. supabase/tests")

    p_delta = sub.add_parser("delta", help="write the migration that brings the target to migrations/")
    p_delta.add_argument("--out", type=Path, help="file to write (default: standard output)")
    p_delta.add_argument("--online", action="store_true",
                         help="concurrent index builds outside a transaction, foreign keys validated separately")
    return parser


def _cmd_apply(args: argparse.Namespace, settings: Settings) -> int:
    with open_target(settings, keep=args.keep) as target:
        print(target.description)
        if args.rehearse_rollback:
            results = rehearse_rollback(target.dsn, settings)
            failed = [r for r in results if not r.ok]
            print(f"rollback rehearsal: {len(results) - len(failed)} passed, {len(failed)} failed")
            return 1 if failed else 0
        outcome = apply(target.dsn, settings, dry_run=args.dry_run)
        verb = "would apply" if args.dry_run else "applied"
        count = len(outcome.pending) if args.dry_run else len(outcome.applied)
        print(f"{verb} {count} migrations; server {outcome.server['server_version']} "
              f"database {outcome.server['database']}")
        print(f"evidence: {outcome.evidence_dir}")
        print(f"DSN: {target.shown}")
        if target.embedded is not None and args.keep:
            print(f"embedded server left running; stop it with: {target.embedded.bindir}/pg_ctl "
                  f"-D {target.embedded.datadir} stop")
    return 0


def _cmd_lint(settings: Settings) -> int:
    results = lint_all(discover(settings.migrations_dir))
    for r in results:
        if r.outcome is not Outcome.PASSED:
            print(r.line())
    failed = sum(r.outcome is Outcome.FAILED for r in results)
    print(f"migration lint: {len(results) - failed} ok, {failed} refused")
    return 3 if failed else 0


def _cmd_verify(settings: Settings) -> int:
    with open_target(settings, migrated=True) as target:
        print(target.description)
        results = verify(target.dsn, settings)
    for r in results:
        if r.outcome is not Outcome.PASSED:
            print(r.line())
    failed = sum(not r.ok for r in results)
    warned = sum(r.outcome is Outcome.WARNED for r in results)
    print(f"verify: {len(results) - failed - warned} passed, {warned} warned, {failed} failed")
    return 1 if failed else 0


def _cmd_dq(settings: Settings) -> int:
    rules = load_rules(settings.dq_rules)
    with open_target(settings, migrated=True) as target:
        print(target.description)
        with connect(target.dsn, autocommit=True) as conn:
            results = run_rules(conn, rules)
    log = EvidenceLog(settings.reports_dir, "dq")
    for r in results:
        log.event("check", r.line(), result=r.to_dict())
        if r.outcome is not Outcome.PASSED:
            print(r.line())
    counts = {o: sum(r.outcome is o for r in results) for o in Outcome}
    print("data quality: " + ", ".join(f"{n} {o.value.replace('_', ' ')}" for o, n in counts.items() if n))
    return 1 if counts[Outcome.FAILED] or counts[Outcome.ERROR] else 0


def _cmd_delta(args: argparse.Namespace, settings: Settings) -> int:
    with open_target(settings, migrated=True) as target:
        delta = delta_for(target.dsn, settings, online=args.online)
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


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env(migrations_dir=args.migrations, reports_dir=args.reports)
        if args.command == "apply":
            return _cmd_apply(args, settings)
        if args.command == "rehearsal":
            with open_target(settings, keep=args.keep) as target:
                print(target.description)
                steps = run_rehearsal(target.dsn, settings)
                print(f"DSN: {target.shown}")
            return 1 if any(step.failed for step in steps) else 0
        if args.command == "verify":
            return _cmd_verify(settings)
        if args.command == "delta":
            return _cmd_delta(args, settings)
        if args.command == "dq":
            return _cmd_dq(settings)
        if args.command == "rls":
            written = export_pgtap(load_contract(settings.rls_contract), args.directory)
            print(f"wrote {len(written)} pgTAP files to {args.directory}")
            return 0
        return _cmd_lint(settings)
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
