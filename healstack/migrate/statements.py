"""Split a SQL file into statements with their line numbers, using Postgres's own parser."""

from __future__ import annotations

from dataclasses import dataclass

from pglast import parse_sql
from pglast.parser import ParseError

from healstack.errors import ConfigError


@dataclass(frozen=True)
class Statement:
    """One top-level statement, its 1-based first line, and the comment lines just above it."""

    sql: str
    line: int
    node: object
    leading_comments: str

    @property
    def summary(self) -> str:
        first = " ".join(self.sql.split())
        return first if len(first) <= 100 else first[:97] + "..."


def split(text: str, label: str) -> list[Statement]:
    """Statements of ``text``; a syntax error names the file and line."""
    raw = text.encode("utf-8")
    try:
        parsed = parse_sql(text)
    except ParseError as e:
        cursor = e.args[1] if len(e.args) > 1 and isinstance(e.args[1], int) else None
        line = raw[:cursor].count(b"\n") + 1 if cursor is not None else "?"
        raise ConfigError(f"{label}:{line}: {e.args[0]}") from e
    statements = []
    previous_end = 0
    for raw_stmt in parsed:
        start = raw_stmt.stmt_location or 0
        length = raw_stmt.stmt_len or len(raw) - start
        body = raw[start : start + length].decode("utf-8")
        # The parser's start skips leading comments; keep them for allow-comments.
        gap = raw[previous_end:start].decode("utf-8")
        comments = "\n".join(ln.strip() for ln in gap.splitlines() if ln.strip().startswith("--"))
        statements.append(Statement(sql=body, line=raw[:start].count(b"\n") + 1, node=raw_stmt.stmt,
                                    leading_comments=comments))
        previous_end = start + length
    return statements
