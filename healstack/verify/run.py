"""The verify phase outside pytest: parity and lints as results, and the delta for the target."""

from __future__ import annotations

from healstack import catalog
from healstack.config import Settings
from healstack.db import connect
from healstack.delta import Delta, plan_delta
from healstack.evidence import EvidenceLog
from healstack.results import CheckResult
from healstack.verify.lints import LINTS, gather, load_waivers, run_lint
from healstack.verify.parity import parity_results
from healstack.verify.reference import reference_snapshot


def _snapshots(dsn: str, settings: Settings) -> tuple[catalog.Snapshot, catalog.Snapshot]:
    expected = reference_snapshot(settings, dsn)
    with connect(dsn) as conn:
        return expected, catalog.take(conn)


def verify(dsn: str, settings: Settings) -> list[CheckResult]:
    """Every parity difference and every lint finding on ``dsn``, recorded as evidence."""
    expected, actual = _snapshots(dsn, settings)
    results = parity_results(expected, actual)
    waivers = load_waivers(settings.lint_waivers)
    with connect(dsn) as conn:
        facts = gather(conn)
    for lint in LINTS:
        results += run_lint(lint, facts, waivers)
    log = EvidenceLog(settings.reports_dir, "verify")
    for r in results:
        log.event("check", r.line(), result=r.to_dict())
    return results


def delta_for(dsn: str, settings: Settings, *, online: bool = False) -> Delta:
    expected, actual = _snapshots(dsn, settings)
    return plan_delta(expected, actual, online=online)
