"""Tickets for failing checks: backlog/READY_system_fix_<slug>.md, one per fingerprint (check id + object, the
same on every run and machine). A run updates its ticket (occurrences, last seen, evidence), resolves it when
the check passes again (kept, dated), reopens it on recurrence. Writes are atomic (a temporary file renamed)
under a lock on the backlog folder, so two runs at once never corrupt or duplicate a ticket."""

from __future__ import annotations

import enum
import fcntl
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any

from healstack.backlog.markdown import ticket_body
from healstack.errors import ConfigError
from healstack.redact import redact
from healstack.report.stream import RunData
from healstack.results import Outcome

PREFIX = "READY_system_fix_"
HISTORY = 10  # runs kept in a ticket's history


class Change(enum.StrEnum):
    OPENED = "opened"
    REOPENED = "reopened"
    UPDATED = "updated"
    RESOLVED = "resolved"


@dataclass
class Ticket:
    fingerprint: str
    check_id: str
    object: str
    phase: str
    severity: str
    status: str = "open"
    first_seen: str = ""
    last_seen: str = ""
    occurrences: int = 0
    last_run: str = ""
    resolved_at: str | None = None
    history: list[str] = field(default_factory=list)
    body: str = ""

    @property
    def file_name(self) -> str:
        return file_name(self.fingerprint)


def fingerprint(record: dict[str, Any]) -> str:
    return f"{record['check_id']}:{record['object']}"


def file_name(fp: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "_", fp).strip("_")[:60]
    return f"{PREFIX}{slug}_{hashlib.sha1(fp.encode()).hexdigest()[:8]}.md"


_FRONT = [f.name for f in fields(Ticket) if f.name != "body"]


def render(ticket: Ticket) -> str:
    """YAML front matter (every value JSON, which YAML reads as is) and the Markdown body."""
    front = "\n".join(f"{name}: {json.dumps(getattr(ticket, name))}" for name in _FRONT)
    return redact(f"---\n{front}\n---\n{ticket.body}")


def parse(text: str, where: Path) -> Ticket:
    match = re.match(r"---\n(?P<front>.*?)\n---\n(?P<body>.*)", text, re.S)
    if not match:
        raise ConfigError(f"{where}: not a healstack ticket (no front matter); move it out of the backlog")
    values: dict[str, Any] = {}
    for line in match["front"].splitlines():
        key, _, raw = line.partition(": ")
        if key in _FRONT:
            values[key] = json.loads(raw)
    return Ticket(**values, body=match["body"])


@contextmanager
def locked(directory: Path) -> Iterator[None]:
    """The backlog folder, exclusively: a second run waits for the first to finish writing."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle = (directory / ".lock").open("a")
    except OSError as e:
        raise ConfigError(f"cannot write tickets to {directory}: {e.strerror}") from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _write(directory: Path, ticket: Ticket) -> None:
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".ticket-", suffix=".md")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(render(ticket))
    os.replace(temporary, directory / ticket.file_name)


def load_all(directory: Path) -> dict[str, Ticket]:
    tickets = (parse(p.read_text(encoding="utf-8"), p) for p in sorted(directory.glob(f"{PREFIX}*.md")))
    return {t.fingerprint: t for t in tickets}


def sync(data: RunData, directory: Path, *, warnings: bool = False, today: date | None = None,
         ) -> list[tuple[Change, Ticket]]:
    """Bring the backlog in line with one run: what changed, ticket by ticket."""
    day = (today or date.today()).isoformat()
    opening = {Outcome.FAILED, Outcome.ERROR, *([Outcome.WARNED] if warnings else [])}
    failing: dict[str, list[dict[str, Any]]] = {}
    for record in data.records:  # an object's several findings (one table's RLS cases) share one ticket
        if record["outcome"] in opening:
            failing.setdefault(fingerprint(record), []).append(record)
    checked = {r["phase"] for r in data.records if r["outcome"] != Outcome.NOT_EVALUATED}
    # an incremental data-quality rule that passes judged only the new rows: the rows its ticket is about may
    # still be wrong, so only a full run (or the rule failing no more in one) resolves it
    partial = {fingerprint(r) for r in data.records if (r.get("evidence") or {}).get("mode") == "incremental"}
    changes: list[tuple[Change, Ticket]] = []
    with locked(directory):
        existing = load_all(directory)
        for fp, found in failing.items():
            record = found[0]
            ticket = existing.get(fp) or Ticket(fp, record["check_id"], record["object"], record["phase"],
                                                str((record.get("evidence") or {}).get("severity") or "error"),
                                                first_seen=day)
            change = Change.OPENED if fp not in existing else \
                Change.REOPENED if ticket.status == "resolved" else Change.UPDATED
            ticket.status, ticket.resolved_at, ticket.last_seen, ticket.last_run = "open", None, day, data.run_id
            ticket.occurrences += 1
            ticket.history = [*ticket.history, f"{day} run {data.run_id}: {record['outcome']}"][-HISTORY:]
            ticket.body = ticket_body(ticket, found, data)
            changes.append((change, ticket))
        for fp, ticket in existing.items():
            if ticket.status == "open" and fp not in failing and ticket.phase in checked and fp not in partial:
                ticket.status, ticket.resolved_at, ticket.last_run = "resolved", day, data.run_id
                ticket.history = [*ticket.history, f"{day} run {data.run_id}: passed, resolved"][-HISTORY:]
                ticket.body = ticket_body(ticket, None, data)
                changes.append((Change.RESOLVED, ticket))
        for _, ticket in changes:
            _write(directory, ticket)
    return changes
