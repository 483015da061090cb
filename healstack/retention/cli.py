"""`healstack retention [--dry-run]`, `healstack backup [--keep N]`, `healstack restore FOLDER`: the data jobs
that delete or copy the stack's agent tables. Two of them never run at once on a database (one lease)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import psycopg

from healstack.config import Settings
from healstack.db import connect
from healstack.errors import ConfigError
from healstack.lease import lease
from healstack.retention import archive
from healstack.retention.job import run
from healstack.retention.policy import RetentionPolicy, load_policy
from healstack.retention.snapshot import backup
from healstack.target import open_target

LOCK = "retention"


def parser(command: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"healstack {command}")
    if command == "retention":
        p.add_argument("--dry-run", action="store_true", help="count what would go, per table and rule; change "
                       "nothing")
    elif command == "backup":
        p.add_argument("--keep", type=int, help="snapshot folders kept (default: the policy's backup.keep, 7)")
    else:
        p.add_argument("folder", type=Path, help="a backups/ folder (retention-... or backup-...)")
    return p


def _policy(settings: Settings) -> RetentionPolicy:
    if not settings.retention.is_file():
        raise ConfigError(f"no retention policy at {settings.retention}: declare the tables and their days there")
    return load_policy(settings.retention)


def main(command: str, argv: Sequence[str], settings: Settings) -> int:
    try:
        return _run(command, argv, settings)
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn) as e:  # a policy or backup naming
        where = settings.retention.name if command != "restore" else "the backup"  # what the database lacks
        raise ConfigError(f"{where} does not fit the database: {e.diag.message_primary}") from None


def _run(command: str, argv: Sequence[str], settings: Settings) -> int:
    args = parser(command).parse_args(list(argv))
    policy = _policy(settings) if command != "restore" else None
    with open_target(settings, migrated=True) as target, lease(target.dsn, LOCK), \
            connect(target.dsn, autocommit=True) as conn:
        if command == "restore":
            inserted = archive.restore(conn, args.folder)
            for table, n in inserted.items():
                print(f"{table}: {n} rows put back")
            print(f"restored from {args.folder} ({sum(inserted.values())} rows; rows already there left alone)")
            return 0
        assert policy is not None
        if command == "backup":
            if args.keep is not None and args.keep < 1:
                raise ConfigError(f"--keep={args.keep}: keep at least one backup")
            snapshot, rows = backup(conn, policy.backup_tables, settings.backups_dir,
                                  args.keep or policy.keep_backups)
            print("\n".join(f"{t}: {n} rows" for t, n in rows.items()))
            print(f"backup {snapshot} (row counts match the snapshot)")
            return 0
        tallies, folder = run(conn, policy, settings.timezone, settings.backups_dir, args.dry_run)
    for t in tallies:
        kept = "".join(f"; kept longer by {rule}: {n}" for rule, n in t.kept_by.items())
        verb = "would delete" if args.dry_run else "deleted"
        print(f"{t.table}: {verb} {t.due if args.dry_run else t.deleted} rows{kept}")
    if folder:
        print(f"backed up and verified before deleting: {folder} (healstack restore {folder} puts them back)")
    return 0
