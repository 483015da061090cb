"""`healstack export-training [--format json|csv] [--out FILE]`."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from healstack.config import Settings
from healstack.db import connect
from healstack.export.training import FORMATS, export
from healstack.retention.job import stamp
from healstack.target import open_target


def main(argv: Sequence[str], settings: Settings) -> int:
    p = argparse.ArgumentParser(prog="healstack export-training")
    p.add_argument("--format", choices=FORMATS, default="json")
    p.add_argument("--out", type=Path, help="file to write (default: reports/training/training-<time>.<format>)")
    args = p.parse_args(list(argv))
    out = args.out or settings.reports_dir / "training" / f"training-{stamp()}.{args.format}"
    with open_target(settings, migrated=True) as target, connect(target.dsn) as conn:
        n = export(conn, out, args.format)
    print(f"{n} records, emails, phone numbers and names redacted, checked a second time: {out}")
    return 0
