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
    """Statements of ``text``, exactly as the file holds them; a syntax error names the file and line.

    pglast reports locations in characters of the text it was given (not bytes), so the text is cut as a
    str: one multibyte character before a statement must not shift it."""
    try:
        parsed = parse_sql(text)
    except ParseError as e:
        # the parser's cursor, in characters; none for "at end of input", which is the last line
        cursor = e.args[1] if len(e.args) > 1 and isinstance(e.args[1], int) else len(text.rstrip())
        line = text[:cursor].count("\n") + 1
        raise ConfigError(f"{label}:{line}: {e.args[0]}") from e
    statements = []
    previous_end = 0
    for raw_stmt in parsed:
        start = raw_stmt.stmt_location or 0
        length = raw_stmt.stmt_len or len(text) - start
        body = text[start : start + length]
        # The parser's start skips leading comments; keep them for allow-comments.
        gap = text[previous_end:start]
        comments = "\n".join(ln.strip() for ln in gap.splitlines() if ln.strip().startswith("--"))
        statements.append(Statement(sql=body, line=text[:start].count("\n") + 1, node=raw_stmt.stmt,
                                    leading_comments=comments))
        previous_end = start + length
    return statements
