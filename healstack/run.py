"""One run of the guardrails: its id and report directory, its target, the actions it takes before checking
(apply, the ETL's pull, the doctor's heals), each phase's results (computed once), and the records the checks
reported."""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from healstack import doctor
from healstack.config import Settings
from healstack.context import Context
from healstack.db import connect
from healstack.dq import incremental
from healstack.dq.incremental import Mark
from healstack.dq.runner import data_quality, load_marks
from healstack.errors import ConfigError, Refused
from healstack.etl import guardrails as etl_guardrails
from healstack.etl.phase import pull, source_checks
from healstack.etl.stack import pullable
from healstack.health.phase import health
from healstack.lease import lease
from healstack.migrate.phase import apply_phase
from healstack.migrate.rehearsal import rehearse_rollback
from healstack.migrate.runner import ApplyOutcome, apply_migrations
from healstack.pooler import connection_evidence
from healstack.preflight import blocking, preflight
from healstack.registry import Phase
from healstack.results import CheckResult, Outcome
from healstack.rls.project_tests import project_tests
from healstack.rls.run import rls_contract
from healstack.target import Target, open_target
from healstack.verify.run import parity, security_lints

# The runbook's phases that are one function of a Context; the rest depend on the run (below).
PHASES: dict[Phase, Callable[[Context], list[CheckResult]]] = {
    Phase.ROLLBACK: rehearse_rollback,
    Phase.PARITY: parity,
    Phase.LINTS: security_lints,
    Phase.RLS: lambda ctx: [*rls_contract(ctx), *project_tests(ctx)],
    Phase.HEALTH: health,
}
# phases that judge the stack's data: the ETL's pull comes before them
AFTER_PULL = frozenset({Phase.ETL, Phase.DQ, Phase.HEALTH, Phase.DOCTOR})


@dataclass(frozen=True)
class Actions:
    """What a run does to the target, besides checking it."""

    apply: bool = False      # apply pending migrations (always done on the embedded default, which starts empty)
    dry_run: bool = False    # with apply: plan only, change nothing
    etl: bool = False        # pull the stack's sources (their recorded pages on the embedded default)
    doctor: bool = False     # the doctor: heal what is safe, check again to prove it
    heal: bool | None = None  # with the doctor: heal (True) or only diagnose (False); None: heal on the embedded
                              # default, only diagnose against DATABASE_URL


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
    heals: list[CheckResult] = field(default_factory=list)  # HS901, one per heal the doctor made
    error: str | None = None  # the one line that ended the run early (bad input met during a phase)
    _pulled: list[CheckResult] | None = None
    _dq_marks: dict[str, Mark] | None = None  # where incremental data quality starts, the same all run long
    dq_reached: dict[str, Mark] = field(default_factory=dict)  # the marks it reached, stored when the run ends
    _leased: bool = False
    _target: Target | None = None
    _results: dict[Phase, list[CheckResult]] = field(default_factory=dict)
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def __post_init__(self) -> None:
        self.id = self.id or new_run_id(self.started)

    @property
    def directory(self) -> Path:
        return self.settings.reports_dir / self.id

    @property
    def embedded(self) -> bool:
        return self.target().embedded is not None

    @property
    def healing(self) -> bool:
        if not self.actions.doctor:
            return False
        return self.actions.heal if self.actions.heal is not None else self.embedded

    def stopped_before(self, phase: Phase) -> str | None:
        """Why ``phase`` is not evaluated: preflight found the target unusable, or (after apply) apply failed."""
        stop = blocking(self._results.get(Phase.PREFLIGHT, []))
        if stop is not None and phase is not Phase.PREFLIGHT:
            return f"preflight failed: {stop.message}"
        if phase.order > Phase.APPLY.order and self.applied is not None and self.applied.failure is not None:
            return f"the apply phase failed: {self.applied.failure}"
        return None

    @property
    def bad_input(self) -> bool:
        """Preflight found bad settings or an unreachable target: the run exits 2, as for bad input."""
        stop = blocking(self._results.get(Phase.PREFLIGHT, []))
        return stop is not None and stop.check_id in ("HS601", "HS602")

    @property
    def refused(self) -> bool:
        return self.applied is not None and isinstance(self.applied.failure, Refused)

    def target(self) -> Target:
        """The target, opened on first use (an embedded server starts); nothing is connected to yet."""
        if self._target is None:
            self._prepare_reports()
            self._target = self._stack.enter_context(open_target(self.settings, keep=self.keep))
        return self._target

    def target_description(self) -> str:
        return self._target.description if self._target is not None else "no target (nothing was checked)"

    def context(self) -> Context:
        return Context(self.target().dsn, self.settings, self.directory)

    def _timed(self, phase: Phase, action: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            return action()
        finally:
            self.durations[phase] = self.durations.get(phase, 0.0) + time.perf_counter() - started

    def connect(self) -> None:
        """The connection's evidence, gathered once, and the doctor's lease when it heals; an unreachable target
        or another doctor raises (one line)."""
        if not self.connection:
            self.connection = connection_evidence(self.target().dsn, self.settings.pooler)
        if self.healing and not self._leased:
            self._stack.enter_context(lease(self.target().dsn, "doctor"))  # two doctors never overlap, poolers or not
            self._leased = True

    def _prepare(self, phase: Phase) -> None:
        """What a phase needs done first: the connection's evidence and lease, the apply, the ETL's pull."""
        ctx = self.context()
        self.connect()
        if self.applied is None and (self.actions.apply or self.embedded):
            self.applied = self._timed(Phase.APPLY, lambda: apply_migrations(ctx, dry_run=self.actions.dry_run))
        if phase in AFTER_PULL and self.actions.etl and self._pulled is None and self.stopped_before(phase) is None:
            self._pulled = self._timed(Phase.ETL, lambda: pull(ctx, self.embedded))

    def results(self, phase: Phase) -> list[CheckResult]:
        """The phase's results, computed once per run; with the doctor, after its heals, checked again."""
        if phase not in self._results:
            if phase is not Phase.PREFLIGHT:
                self._prepare(phase)
            self._results[phase] = self._timed(phase, lambda: self._compute(phase))
            if self.healing and (phase is Phase.APPLY or phase in doctor.HEALS):
                self._results[phase] = self._timed(phase, lambda: self._heal(phase, self._results[phase]))
        return self._results[phase]

    def _compute(self, phase: Phase) -> list[CheckResult]:
        ctx = self.context()
        if phase is Phase.PREFLIGHT:
            return preflight(ctx, self.embedded)
        if phase is Phase.APPLY:
            return apply_phase(ctx, self.applied)
        if phase is Phase.ETL:
            return self._etl(ctx)
        if phase is Phase.DOCTOR:
            return doctor.stale_statistics(ctx)
        if phase is Phase.DQ:
            return self._data_quality(ctx)
        return PHASES[phase](ctx)

    def _etl(self, ctx: Context) -> list[CheckResult]:
        """The pull's results (with its dry run and re-run), the ledger's, then metrics and natural keys."""
        sources = [p.source for p in pullable(self.settings, self.embedded)]
        if not sources:
            return [CheckResult("HS701", Outcome.NOT_EVALUATED, "sources", "no source is configured here "
                                "(etl/sources.toml, and credentials or recorded pages)")]
        pulled = self._pulled if self._pulled is not None else [
            CheckResult(check, Outcome.NOT_EVALUATED, "sources", "this run did not pull (a rehearsal or "
                        "`healstack ingest` pulls, then pulls again dry and for real)") for check in ("HS703", "HS704")]
        return [*pulled, *source_checks(ctx, sources), *etl_guardrails.metrics_match_recompute(ctx),
                *etl_guardrails.natural_keys_unique(ctx)]

    def _data_quality(self, ctx: Context) -> list[CheckResult]:
        """Incremental rules start from the marks the run found, also when the doctor checks again."""
        if self.settings.dq_mode == incremental.FULL or not self.settings.dq_rules.is_dir():
            return data_quality(ctx)
        if self._dq_marks is None:
            self._dq_marks = load_marks(ctx)
        self.dq_reached = {}
        return data_quality(ctx, self._dq_marks, self.dq_reached)

    def store_marks(self) -> None:
        """The marks incremental data quality reached, once the run's results are recorded."""
        if self.dq_reached and self._target is not None:
            with connect(self._target.dsn, autocommit=True) as conn:
                incremental.save_marks(conn, self.dq_reached)

    def _heal(self, phase: Phase, found: list[CheckResult]) -> list[CheckResult]:
        """The doctor's heals for the phase's failures, then the phase checked again to prove them."""
        ctx = self.context()
        if phase is Phase.APPLY:
            pending = [r for r in found if r.check_id == "HS104" and r.outcome.failing]
            if not pending or self.applied is not None:
                return found
            heal = doctor.Heal(Phase.APPLY, [doctor.fingerprint(r) for r in pending], "apply the pending migrations",
                               before=[r.message for r in pending])
            self.applied = apply_migrations(ctx)
            heal.statements, heal.error = list(self.applied.applied), str(self.applied.failure or "") or None
            heals = [heal]
        else:
            heals = doctor.HEALS[phase](ctx, found, self.embedded)
        if not heals:
            return found
        after = self._compute(phase)
        verdicts = [doctor.verdict(heal, after) for heal in heals]
        self.heals += verdicts
        return after + verdicts  # each heal reported with the phase it mended

    def record(self, nodeid: str, phase: Phase, result: CheckResult) -> Record:
        record = Record(nodeid, phase, result)
        self.records.append(record)
        return record

    @property
    def failed(self) -> bool:
        return any(r.result.outcome.failing for r in self.records)

    def _prepare_reports(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(f"cannot write reports to {self.settings.reports_dir}: {e.strerror}") from e

    def close(self) -> None:
        self._stack.close()
