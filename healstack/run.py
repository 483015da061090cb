"""One run of the guardrails: its id and report directory, its target, the actions it takes before
checking, each phase's results (computed once), and the records the checks reported."""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from healstack.config import Settings
from healstack.context import Context
from healstack.dq.runner import data_quality
from healstack.errors import ConfigError, Refused
from healstack.migrate.phase import apply_phase
from healstack.migrate.rehearsal import rehearse_rollback
from healstack.migrate.runner import ApplyOutcome, apply_migrations
from healstack.pooler import connection_evidence
from healstack.registry import Phase
from healstack.results import CheckResult, Outcome
from healstack.rls.run import rls_contract
from healstack.target import Target, open_target
from healstack.verify.run import parity, security_lints

# The runbook's phases composed once: every runner (CLI, nox, pytest) reaches them through the checks.
PHASES: dict[Phase, Callable[[Context], list[CheckResult]]] = {
    Phase.ROLLBACK: rehearse_rollback,
    Phase.PARITY: parity,
    Phase.LINTS: security_lints,
    Phase.RLS: rls_contract,
    Phase.DQ: data_quality,
}


@dataclass(frozen=True)
class Actions:
    """What a run does to the target before it checks it."""

    apply: bool = False      # apply pending migrations (always done on the embedded default, which starts empty)
    dry_run: bool = False    # with apply: plan only, change nothing


@dataclass(frozen=True)
class Record:
    """One result as a run reports it: the pytest case that reported it and the phase it belongs to."""

    nodeid: str
    phase: Phase
    result: CheckResult

    def to_dict(self, run_id: str) -> dict[str, Any]:
        return {"run_id": run_id, "nodeid": self.nodeid, "phase": self.phase.value, **self.result.to_dict()}


def new_run_id(now: datetime) -> str:
    """Sortable by time, unique across machines: 20261201T183000Z-1a2b3c."""
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


@dataclass
class Run:
    settings: Settings
    actions: Actions = Actions()
    keep: bool = False
    id: str = ""
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    applied: ApplyOutcome | None = None
    connection: dict[str, Any] = field(default_factory=dict)
    records: list[Record] = field(default_factory=list)
    durations: dict[Phase, float] = field(default_factory=dict)
    _target: Target | None = None
    _results: dict[Phase, list[CheckResult]] = field(default_factory=dict)
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def __post_init__(self) -> None:
        self.id = self.id or new_run_id(self.started)

    @property
    def directory(self) -> Path:
        return self.settings.reports_dir / self.id

    @property
    def stopped(self) -> str | None:
        """Why the phases after apply are not evaluated: the apply action failed or was refused."""
        if self.applied is not None and self.applied.failure is not None:
            return f"the apply phase failed: {self.applied.failure}"
        return None

    @property
    def refused(self) -> bool:
        return self.applied is not None and isinstance(self.applied.failure, Refused)

    def target(self) -> Target:
        """The target, opened on first use; the apply action runs right after it opens."""
        if self._target is None:
            self._prepare_reports()
            target = self._stack.enter_context(open_target(self.settings, keep=self.keep))
            self._target = target
            self.connection = connection_evidence(target.dsn, self.settings.pooler)
            if self.actions.apply or target.embedded is not None:
                started = time.perf_counter()
                self.applied = apply_migrations(self.context(), dry_run=self.actions.dry_run)
                self.durations[Phase.APPLY] = time.perf_counter() - started
        return self._target

    def target_description(self) -> str:
        return self._target.description if self._target is not None else "no target (nothing was checked)"

    def context(self) -> Context:
        return Context(self.target().dsn, self.settings, self.directory)

    def results(self, phase: Phase) -> list[CheckResult]:
        """The phase's results, computed once per run."""
        if phase not in self._results:
            ctx = self.context()
            started = time.perf_counter()
            if phase is Phase.APPLY:
                self._results[phase] = apply_phase(ctx, self.applied)
            else:
                self._results[phase] = PHASES[phase](ctx)
            self.durations[phase] = self.durations.get(phase, 0.0) + time.perf_counter() - started
        return self._results[phase]

    def record(self, nodeid: str, phase: Phase, result: CheckResult) -> Record:
        record = Record(nodeid, phase, result)
        self.records.append(record)
        return record

    @property
    def failed(self) -> bool:
        return any(r.result.outcome.failing for r in self.records)

    def warned(self) -> list[Record]:
        return [r for r in self.records if r.result.outcome is Outcome.WARNED]

    def _prepare_reports(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(f"cannot write reports to {self.settings.reports_dir}: {e.strerror}") from e

    def close(self) -> None:
        self._stack.close()
