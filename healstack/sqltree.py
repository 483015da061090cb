"""Walking pglast's parse trees (Postgres's own parser): every node below a node, and a relation's name."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast, enums, parse_sql
from pglast.parser import ParseError


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


def _cannot_run_in_a_transaction(node: ast.Node | None) -> bool:
    concurrent = getattr(node, "concurrent", False) and isinstance(node, ast.IndexStmt | ast.DropStmt)
    reindex = isinstance(node, ast.ReindexStmt) and any(
        getattr(p, "defname", "") == "concurrently" for p in node.params or ())
    detach = isinstance(node, ast.AlterTableStmt) and any(
        c.subtype == enums.AlterTableType.AT_DetachPartition and getattr(c.def_, "concurrent", False)
        for c in node.cmds or ())
    return bool(concurrent or reindex or detach or isinstance(node, ast.VacuumStmt))


def outside_transaction_alone(text: str) -> bool:
    """Whether the SQL is one statement that Postgres refuses inside a transaction block (a concurrent index
    build or drop, a concurrent reindex or detach, VACUUM)."""
    try:
        statements = parse_sql(text)
    except ParseError:
        return False  # the lint and the apply report it, with the file and line
    return len(statements) == 1 and _cannot_run_in_a_transaction(statements[0].stmt)
