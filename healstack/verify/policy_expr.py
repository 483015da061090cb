"""Read a policy expression as Postgres parses it: per-row auth calls, user_metadata, always true."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from pglast import ast, parse_sql

# Functions whose value is the same for every row of a statement: wrapped in a scalar subquery the
# planner runs them once (an InitPlan); bare, once per row.
PER_STATEMENT_FUNCTIONS = {("auth", "uid"), ("auth", "jwt"), ("auth", "role"), ("auth", "email"),
                           ("current_setting",), ("pg_catalog", "current_setting")}


@dataclass(frozen=True)
class ExpressionFacts:
    per_row_calls: tuple[str, ...]
    reads_user_metadata: bool
    always_true: bool


def _walk(node: object, in_subquery: bool = False) -> Iterator[tuple[ast.Node, bool]]:
    if isinstance(node, ast.Node):
        yield node, in_subquery
        inner = in_subquery or isinstance(node, ast.SubLink)
        for slot in node.__slots__:
            yield from _walk(getattr(node, slot, None), inner)
    elif isinstance(node, tuple | list):
        for item in node:
            yield from _walk(item, in_subquery)


@cache
def analyse(expression: str | None) -> ExpressionFacts:
    if expression is None:
        return ExpressionFacts((), False, False)
    [raw] = parse_sql(f"select {expression}")
    target = raw.stmt.targetList[0].val
    per_row: list[str] = []
    user_metadata = False
    for node, in_subquery in _walk(target):
        if isinstance(node, ast.FuncCall):
            name = tuple(p.sval for p in node.funcname)
            if name in PER_STATEMENT_FUNCTIONS and not in_subquery:
                per_row.append(".".join(name) + "()")
        elif isinstance(node, ast.String) and node.sval in ("user_metadata", "raw_user_meta_data"):
            # a JSON key ('user_metadata') or a column name (ColumnRef fields are String nodes)
            user_metadata = True
    always_true = isinstance(target, ast.A_Const) and isinstance(target.val, ast.Boolean) and target.val.boolval
    return ExpressionFacts(tuple(per_row), user_metadata, always_true)
