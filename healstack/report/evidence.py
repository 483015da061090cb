"""A record's evidence as blocks a person reads (fields, tables, SQL), shared by the HTML report and the tickets:
expected against found for a drift and the delta that mends it, the identity, command and verdict of an RLS case,
a DQ rule's declaration and the rows it found keyed by primary key, a lint's fix."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from healstack import registry


@dataclass(frozen=True)
class Fields:
    items: list[tuple[str, str]]


@dataclass(frozen=True)
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Code:
    title: str
    text: str


Block = Fields | Table | Code


def _text(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str, sort_keys=True)
    return str(value)


def _rows_table(title: str, rows: list[Any]) -> Table | None:
    """Sample rows (JSON objects keyed by primary key first) as a table."""
    objects = [r for r in rows if isinstance(r, dict)]
    if not objects:
        return Table(title, ["row"], [[_text(r)] for r in rows]) if rows else None
    headers = list(dict.fromkeys(k for r in objects for k in r))
    return Table(title, headers, [[_text(r.get(h)) for h in headers] for r in objects])


def _parity(evidence: dict[str, Any]) -> list[Block]:
    expected, found = evidence.get("expected") or {}, evidence.get("found") or {}
    keys = [k for k in dict.fromkeys([*expected, *found]) if expected.get(k) != found.get(k)] \
        if expected and found else list(dict.fromkeys([*expected, *found]))
    blocks: list[Block] = [Table(f"{evidence.get('kind', 'object')}: expected against found",
                                 ["field", "expected (migrations)", "found (target)"],
                                 [[k, _text(expected.get(k)) if expected else "(missing)",
                                   _text(found.get(k)) if found else "(missing)"] for k in keys])]
    if evidence.get("fix"):
        blocks.append(Code("the delta that mends it (healstack delta)", "\n".join(evidence["fix"])))
    if evidence.get("not_fixed"):
        blocks.append(Fields([("not fixed by the delta", "; ".join(evidence["not_fixed"]))]))
    return blocks


def _data_quality(evidence: dict[str, Any]) -> list[Block]:
    fields = [(k, _text(evidence[k])) for k in ("declared_at", "type", "table", "threshold", "observed",
                                                  "rows_tested", "severity", "owner") if evidence.get(k) is not None]
    fields += [(k, _text(v)) for k, v in (evidence.get("details") or {}).items()]
    blocks: list[Block] = [Fields(fields)]
    samples = _rows_table("rows found (keyed by primary key)", evidence.get("samples") or [])
    if samples:
        blocks.append(samples)
    return blocks


def _statement(evidence: dict[str, Any]) -> list[Block]:
    fields: list[tuple[str, str]] = [(k, _text(evidence[k])) for k in ("file", "line", "rule") if k in evidence]
    return [Fields(fields), Code("statement", str(evidence.get("statement", "")))]


def _plan(evidence: dict[str, Any]) -> list[Block]:
    shown = ("run_as", "execution_ms", "planning_ms", "budget_ms")
    fields: list[tuple[str, str]] = [(k, _text(evidence[k])) for k in shown if k in evidence]
    return [Fields(fields), Code("query", str(evidence.get("sql", "")).strip()),
            Code("plan (EXPLAIN ANALYZE, BUFFERS)", "\n".join(evidence.get("plan") or []))]


def blocks(record: dict[str, Any]) -> list[Block]:
    """How to show one record's evidence."""
    evidence: dict[str, Any] = dict(record.get("evidence") or {})
    check_id = str(record["check_id"])
    if check_id in ("HS301", "HS302", "HS303"):
        return _parity(evidence)
    if "declared_at" in evidence:
        return _data_quality(evidence)
    if "statement" in evidence and "file" in evidence:
        return _statement(evidence)
    if check_id == "HS815" and evidence.get("plan"):
        return _plan(evidence)
    simple = [(k, _text(v)) for k, v in evidence.items() if not isinstance(v, (dict, list)) or not v]
    nested = [(k, v) for k, v in evidence.items() if isinstance(v, (dict, list)) and v]
    out: list[Block] = [Fields(simple)] if simple else []
    for key, value in nested:
        if isinstance(value, list) and all(isinstance(v, dict) for v in value):
            table = _rows_table(key, value)
            if table:
                out.append(table)
        else:
            out.append(Code(key, json.dumps(value, default=str, indent=2, sort_keys=True)))
    return out


def remedy(record: dict[str, Any]) -> str:
    """What to do: the check's declared remedy, or for a data-quality rule, where to look."""
    spec = registry.CHECKS.get(str(record["check_id"]))
    if spec is not None:
        return spec.remedy
    evidence = record.get("evidence") or {}
    return (f"fix the rows it found at their source, or the rule declared at {evidence.get('declared_at', '?')}"
            + (f" (owner: {evidence['owner']})" if evidence.get("owner") else ""))


def title(record: dict[str, Any]) -> str:
    spec = registry.CHECKS.get(str(record["check_id"]))
    if spec is not None:
        return spec.title
    evidence = record.get("evidence") or {}
    return str(evidence.get("description") or f"data-quality rule {record['check_id']} found rows")
