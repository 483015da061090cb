"""Evidence logs: what was run, where, and what happened, as JSON lines plus a readable log."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from healstack.redact import redact


class EvidenceLog:
    """Append-only evidence for one run; every line passes through secret redaction."""

    def __init__(self, reports_dir: Path, phase: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        self.directory = reports_dir / phase / f"{stamp}-{os.getpid()}"
        self.directory.mkdir(parents=True, exist_ok=True)
        self._jsonl = self.directory / "evidence.jsonl"
        self._log = self.directory / f"{phase}.log"

    def event(self, kind: str, message: str, **data: Any) -> None:
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        record = {"at": now, "kind": kind, "message": message, **data}
        line = redact(json.dumps(record, default=str, sort_keys=True))
        with self._jsonl.open("a", encoding="utf-8") as f:
            f.write(line + "\n")
        with self._log.open("a", encoding="utf-8") as f:
            f.write(redact(f"{now} {kind:<10} {message}") + "\n")
