"""`healstack export-training`: agent feedback and its conversation's queries as training data, every string
redacted of emails, phone numbers and personal names. The file is written aside, read back and scanned a
second time; any personal data found there refuses the export (the file is removed, and the message says where,
never what)."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from healstack.errors import HealstackError
from healstack.export import pii
from healstack.sqlfiles import query

FORMATS = ("json", "csv")
KEPT = frozenset({"created_at"})  # not free text: nothing to redact


class LeakFound(HealstackError):
    exit_code = 1


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return pii.redact(value)
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    return value


def rows(conn: psycopg.Connection[Any]) -> Iterator[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query("healstack.export", "training"))
        for row in cur:
            yield {k: v if k in KEPT else _redacted(v) for k, v in row.items()}


def _write(records: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(records, ensure_ascii=False, indent=1) + "\n"
    out = io.StringIO()
    if records:
        writer = csv.DictWriter(out, fieldnames=list(records[0]))
        writer.writeheader()
        for r in records:
            writer.writerow({k: json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v
                             for k, v in r.items()})
    return out.getvalue()


def _read_back(text: str, fmt: str) -> list[dict[str, Any]]:
    if fmt == "json":
        loaded: list[dict[str, Any]] = json.loads(text)
        return loaded
    return list(csv.DictReader(io.StringIO(text)))


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, f"{where}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, f"{where}.{k}")


def second_look(records: list[dict[str, Any]]) -> list[str]:
    """Where personal data is still found: 'record 3, input_text', never the data itself."""
    return [f"record {i + 1}, {where}" for i, r in enumerate(records) for k, v in r.items() if k not in KEPT
            for where, text in _strings(v, k) if pii.leaks(text)]


def export(conn: psycopg.Connection[Any], out: Path, fmt: str) -> int:
    """Write the redacted export to ``out`` (only once it passed the second look); returns its row count."""
    records = list(rows(conn))
    text = _write(records, fmt)
    partial = out.with_name(out.name + ".partial")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial.write_text(text, encoding="utf-8")
    found = second_look(_read_back(partial.read_text(encoding="utf-8"), fmt))
    if found:
        partial.unlink()
        raise LeakFound(f"export refused, nothing written: the second look found personal data in {len(found)} "
                        f"places ({'; '.join(found[:3])}{'; ...' if len(found) > 3 else ''})")
    os.replace(partial, out)
    return len(records)
