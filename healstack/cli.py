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
from healstack.errors import HealstackError
from healstack.migrate.files import discover
from healstack.migrate.lint import lint_all
from healstack.migrate.rehearsal import rehearse_rollback
from healstack.migrate.runner import apply
from healstack.redact import redact
from healstack.results import Outcome
from healstack.target import open_target


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

    sub.add_parser("lint", help="migration safety lint (destructive or locking DDL)")
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


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env(migrations_dir=args.migrations, reports_dir=args.reports)
        if args.command == "apply":
            return _cmd_apply(args, settings)
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
