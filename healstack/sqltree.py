"""Walking pglast's parse trees (Postgres's own parser): every node below a node, and a relation's name."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast


def walk(node: object, in_subquery: bool = False) -> Iterator[tuple[ast.Node, bool]]:
    """Every node at or below ``node``, each with whether it sits inside a sub-select (a SubLink)."""
    if isinstance(node, ast.Node):
        yield node, in_subquery
        inner = in_subquery or isinstance(node, ast.SubLink)
        for slot in getattr(node, "__slots__", ()):
            yield from walk(getattr(node, slot, None), inner)
    elif isinstance(node, tuple | list):
        for item in node:
            yield from walk(item, in_subquery)


def relname(rv: ast.RangeVar | None) -> str:
    """schema.name of a relation a statement names; an unqualified one is in public."""
    if rv is None:
        return "?"
    return f"{rv.schemaname or 'public'}.{rv.relname}"


def dotted(names: tuple[ast.Node, ...] | None) -> list[str]:
    """The parts of a qualified name (a function's, a type's) as strings."""
    return [str(getattr(n, "sval", "?")) for n in names or ()]
