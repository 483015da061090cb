"""The results stream of a run: results.jsonl (every record, redacted) and run.json (the run's identity). Every
output after it (report, summaries, tickets, notifications) reads this data, never the run's objects."""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from healstack import __version__
from healstack.errors import HealstackError
from healstack.migrate.files import discover
from healstack.redact import redact
from healstack.registry import Phase
from healstack.results import Outcome
from healstack.run import Run
from healstack.vcs import commit_of

RESULTS, IDENTITY = "results.jsonl", "run.json"


def _json(data: Any) -> str:
    return redact(json.dumps(data, default=str, sort_keys=True))


@dataclass
class RunData:
    """A run as its stream tells it: identity and records (dicts), and where they were written."""

    identity: dict[str, Any]
    records: list[dict[str, Any]]
    directory: Path
    outputs: dict[str, Any] = field(default_factory=dict)  # what finishing the run wrote and sent

    @property
    def run_id(self) -> str:
        return str(self.identity["run_id"])

    def by_phase(self) -> dict[Phase, list[dict[str, Any]]]:
        grouped: dict[Phase, list[dict[str, Any]]] = {}
        for record in sorted(self.records, key=lambda r: Phase(r["phase"]).order):
            grouped.setdefault(Phase(record["phase"]), []).append(record)
        return grouped

    def with_outcome(self, *outcomes: Outcome) -> list[dict[str, Any]]:
        return [r for r in self.records if r["outcome"] in outcomes]

    @property
    def failed(self) -> bool:
        return bool(self.with_outcome(Outcome.FAILED, Outcome.ERROR))


def _migrations(run: Run) -> dict[str, Any]:
    """Which migrations the run judged: their folder, files, one checksum over them, and the commit."""
    directory = run.settings.migrations_dir
    try:
        files = discover(directory)
    except HealstackError:  # the run already reported why it could not read them
        files = []
    combined = "".join(m.checksum for m in files)
    status = {"before": run.applied.status_before, "after": run.applied.status_after} if run.applied else {}
    return {"directory": str(directory), "files": [m.label for m in files], "commit": commit_of(directory),
            "checksum": hashlib.sha256(combined.encode()).hexdigest() if files else None, **status}


def _user() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:  # a uid with no name (some containers)
        return os.environ.get("USER") or str(os.getuid())


def identity(run: Run, exit_status: int) -> dict[str, Any]:
    """Who ran what, where and when; never a secret (the target's DSN is shown with its password masked)."""
    return {"run_id": run.id, "healstack_version": __version__, "started": run.started.isoformat(),
            "finished": datetime.now(UTC).isoformat(), "host": socket.gethostname(),
            "user": _user(),
            "project": str(run.settings.root), "target": run.target_description(), "connection": run.connection,
            "migrations": _migrations(run), "exit_status": exit_status,
            "phase_seconds": {p.value: round(s, 3) for p, s in sorted(run.durations.items(),
                                                                        key=lambda i: i[0].order)},
            "evidence": {phase: str(run.directory / phase) for phase in ("apply", "rollback", "parity", "lints",
                                                                         "rls", "dq")
                         if (run.directory / phase).is_dir()}}


def write(run: Run, exit_status: int) -> RunData:
    """reports/<run id>/results.jsonl and run.json, redacted; returns the run as data."""
    run.directory.mkdir(parents=True, exist_ok=True)
    records = [json.loads(_json(r.to_dict(run.id))) for r in run.records]
    with (run.directory / RESULTS).open("w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, sort_keys=True) + "\n" for r in records)
    data = RunData(json.loads(_json(identity(run, exit_status))), records, run.directory)
    save_identity(data)
    return data


def save_identity(data: RunData) -> None:
    (data.directory / IDENTITY).write_text(_json({**data.identity, "outputs": data.outputs}) + "\n",
                                           encoding="utf-8")


def load(directory: Path) -> RunData:
    """A run written earlier, from its directory."""
    identity_data = json.loads((directory / IDENTITY).read_text(encoding="utf-8"))
    outputs = identity_data.pop("outputs", {})
    records = [json.loads(line) for line in (directory / RESULTS).read_text(encoding="utf-8").splitlines() if line]
    return RunData(identity_data, records, directory, outputs)
