"""Evidence logs: what was run, where, and what happened, as JSON lines plus a readable log."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from healstack.redact import redact


class EvidenceLog:
    """Append-only evidence of one phase of a run, in ``<run dir>/<phase>/``; every line passes through
    secret redaction. Without a run directory (a throwaway reference build) nothing is written."""

    def __init__(self, run_dir: Path | None, phase: str) -> None:
        self.directory = run_dir / phase if run_dir is not None else None
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)

    def event(self, kind: str, message: str, **data: Any) -> None:
        if self.directory is None:
            return
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        record = {"at": now, "kind": kind, "message": message, **data}
        with (self.directory / "evidence.jsonl").open("a", encoding="utf-8") as f:
            f.write(redact(json.dumps(record, default=str, sort_keys=True)) + "\n")
        with (self.directory / f"{self.directory.name}.log").open("a", encoding="utf-8") as f:
            f.write(redact(f"{now} {kind:<10} {message}") + "\n")
