"""Schema parity: every difference between the expected and the actual catalog is its own result."""

from __future__ import annotations

from typing import Any

from healstack import catalog
from healstack.results import CheckResult, Outcome

CHECK_IDS = {catalog.Change.MISSING: "HS301", catalog.Change.UNEXPECTED: "HS302", catalog.Change.DIFFERENT: "HS303"}


def _plain(record: catalog.Record | None) -> dict[str, Any] | None:
    return None if record is None else dict(record)


def parity_results(expected: catalog.Snapshot, actual: catalog.Snapshot) -> list[CheckResult]:
    """One FAILED result per difference, or a single PASSED result when the schemas match."""
    differences = catalog.diff(expected, actual)
    if not differences:
        count = sum(len(objects) for objects in expected.values())
        return [CheckResult("HS300", Outcome.PASSED, "schema", f"all {count} expected objects present and equal")]
    return [
        CheckResult(CHECK_IDS[d.change], Outcome.FAILED, f"{d.kind} {d.key}", d.describe(),
                    {"kind": d.kind, "change": d.change.value, "expected": _plain(d.expected),
                     "found": _plain(d.actual)})
        for d in differences
    ]
