"""The staging runbook end to end on one target: connectivity, apply, rollback rehearsal, schema parity,
security lints, the RLS contract and data quality, as one list of results and one evidence bundle."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from healstack.config import Settings
from healstack.db import connect
from healstack.dq.rules import load_rules
from healstack.dq.runner import run_rules
from healstack.evidence import EvidenceLog
from healstack.migrate.rehearsal import rehearse_rollback
from healstack.migrate.runner import apply
from healstack.results import CheckResult, Outcome
from healstack.rls.contract import load_contract
from healstack.rls.leaks import run_contract
from healstack.verify.run import verify

Say = Callable[[str], None]


@dataclass
class Step:
    name: str
    results: list[CheckResult] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(r.outcome in (Outcome.FAILED, Outcome.ERROR) for r in self.results)

    def summary(self) -> str:
        counts = {o: sum(r.outcome is o for r in self.results) for o in Outcome}
        return f"{self.name}: " + ", ".join(f"{n} {o.value.replace('_', ' ')}" for o, n in counts.items() if n)


def run_rehearsal(dsn: str, settings: Settings, *, say: Say = print) -> list[Step]:
    """Every phase in the runbook's order; a failing apply stops the run (nothing else is meaningful)."""
    log = EvidenceLog(settings.reports_dir, "rehearsal")
    quiet: Say = lambda _line: None  # noqa: E731 - the steps report through their results
    outcome = apply(dsn, settings, say=quiet)
    steps = [Step("apply", [*outcome.results, CheckResult(
        "HS100", Outcome.PASSED, outcome.server["database"],
        f"applied {len(outcome.applied)} migrations on {outcome.server['server_version']}",
        {"applied": outcome.applied, "server": outcome.server, "evidence": str(outcome.evidence_dir)})])]
    steps.append(Step("rollback rehearsal", rehearse_rollback(dsn, settings, say=quiet)))
    steps.append(Step("verify (parity and lints)", verify(dsn, settings)))
    steps.append(Step("RLS contract", run_contract(dsn, load_contract(settings.rls_contract))))
    with connect(dsn, autocommit=True) as conn:
        steps.append(Step("data quality", run_rules(conn, load_rules(settings.dq_rules))))
    for step in steps:
        for result in step.results:
            log.event("check", result.line(), step=step.name, result=result.to_dict())
            if result.outcome in (Outcome.FAILED, Outcome.ERROR):
                say(f"  {result.line()}")
        say(step.summary())
    log.event("summary", "rehearsal finished", steps={s.name: s.summary() for s in steps})
    say(f"evidence: {log.directory}")
    return steps
