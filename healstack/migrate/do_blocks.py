"""The statements a PL/pgSQL DO block runs, read with Postgres's own PL/pgSQL parser (pglast), so wrapping a
statement in a guard (``do $$ begin if not exists (...) then alter table ...; end if; end $$``) cannot hide it
from the lint. An EXECUTE of a constant string is read too; an EXECUTE of a string built at run time is not
(nothing can say what it runs before it runs)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

from pglast import ast, parse_plpgsql, parse_sql
from pglast.parser import ParseError

_WRAPPER = "create function pg_temp.healstack_do() returns void language plpgsql as $healstack_do${}$healstack_do$"


def _body(node: ast.DoStmt) -> str | None:
    """The block's source, when it is PL/pgSQL (the default language)."""
    body, language = None, "plpgsql"
    for arg in node.args or ():
        value = getattr(arg.arg, "sval", None)
        if arg.defname == "as":
            body = value
        elif arg.defname == "language" and value:
            language = value
    return body if language.lower() == "plpgsql" else None


def _queries(tree: Any) -> Iterator[str]:
    """Every SQL statement in a parsed PL/pgSQL tree, and every constant string an EXECUTE runs."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            if key == "PLpgSQL_stmt_execsql":
                yield value["sqlstmt"]["PLpgSQL_expr"]["query"]
            elif key == "PLpgSQL_stmt_dynexecute":
                text = value["query"]["PLpgSQL_expr"]["query"].strip()
                if len(text) > 1 and text[0] == text[-1] == "'" and "'" not in text[1:-1].replace("''", ""):
                    yield text[1:-1].replace("''", "'")
            else:
                yield from _queries(value)
    elif isinstance(tree, list):
        for item in tree:
            yield from _queries(item)


def statements(node: ast.DoStmt) -> tuple[ast.Node, ...]:
    """The parse trees of what the block runs; none when it is not PL/pgSQL or does not parse (Postgres
    will say why when it runs it)."""
    body = _body(node)
    return () if body is None else _parse(body)


@cache
def _parse(body: str) -> tuple[ast.Node, ...]:
    """Parsed once per body: the lint reads a file's DO blocks for what they create, then for their hazards."""
    if "$healstack_do$" in body:
        return ()
    try:
        found = [raw.stmt for query in _queries(parse_plpgsql(_WRAPPER.format(body))) for raw in parse_sql(query)]
    except ParseError:
        return ()
    return tuple(n for n in found if isinstance(n, ast.Node))
