"""Schema parity: every difference between the expected and the actual catalog is its own result. A table or view
missing or unexpected as a whole is one difference, whose columns, constraints, indexes, triggers, policies and
grants come with it (listed in its evidence), not thirty more."""

from __future__ import annotations

from typing import Any

from healstack import catalog
from healstack.delta import fix_for
from healstack.results import CheckResult, Outcome

CHECK_IDS = {catalog.Change.MISSING: "HS301", catalog.Change.UNEXPECTED: "HS302", catalog.Change.DIFFERENT: "HS303"}
_PARTS = ("columns", "constraints", "indexes", "triggers", "policies")


def _plain(record: catalog.Record | None) -> dict[str, Any] | None:
    return None if record is None else dict(record)


def _relation_of(d: catalog.Difference) -> str | None:
    """The table or view a difference belongs to (schema.name as the catalog quotes it), if a part of one."""
    record = d.expected or d.actual or {}
    if d.kind in _PARTS:
        return f"{record['schema']}.{record['relation']}" if "relation" in record else None
    if d.kind == "grants" and record.get("object_kind") in ("table", "column"):
        parts = str(record["object"]).split(".")
        return ".".join(parts[:2])
    return None


def _wholes(differences: list[catalog.Difference]) -> dict[str, catalog.Difference]:
    """Relations missing or unexpected as a whole, by name."""
    return {f"{r['schema']}.{r['name']}": d for d in differences if d.kind == "relations"
            and d.change is not catalog.Change.DIFFERENT and (r := d.expected or d.actual) is not None}


def parity_results(expected: catalog.Snapshot, actual: catalog.Snapshot) -> list[CheckResult]:
    """One FAILED result per difference, or a single PASSED result when the schemas match."""
    differences = catalog.diff(expected, actual)
    if not differences:
        count = sum(len(objects) for objects in expected.values())
        return [CheckResult("HS300", Outcome.PASSED, "schema", f"all {count} expected objects present and equal")]
    wholes = _wholes(differences)
    parts: dict[str, list[str]] = {name: [] for name in wholes}
    kept = []
    for d in differences:
        owner = _relation_of(d)
        if owner in wholes and wholes[owner].change is d.change:
            parts[owner].append(f"{d.kind} {d.key}")
        else:
            kept.append(d)
    results = []
    for d in kept:
        fix, not_fixed = fix_for(expected, actual, d)
        online, _ = fix_for(expected, actual, d, online=True)
        evidence: dict[str, Any] = {"kind": d.kind, "change": d.change.value, "expected": _plain(d.expected),
                                    "found": _plain(d.actual), "fix": fix, "fix_online": online,
                                    "not_fixed": not_fixed}
        message = d.describe()
        if d.kind == "relations" and parts.get(d.key):
            evidence["with_it"] = parts[d.key]
            message += f", with its {len(parts[d.key])} columns, constraints, indexes, policies and grants"
        results.append(CheckResult(CHECK_IDS[d.change], Outcome.FAILED, f"{d.kind} {d.key}", message, evidence))
    return results
