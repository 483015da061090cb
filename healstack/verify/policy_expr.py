"""Read a policy expression as Postgres parses it: per-row auth calls, user_metadata, always true."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from pglast import ast, parse_sql

from healstack.sqltree import dotted, walk

# Functions whose value is the same for every row of a statement: wrapped in a scalar subquery the
# planner runs them once (an InitPlan); bare, once per row.
PER_STATEMENT_FUNCTIONS = {("auth", "uid"), ("auth", "jwt"), ("auth", "role"), ("auth", "email"),
                           ("current_setting",), ("pg_catalog", "current_setting")}


@dataclass(frozen=True)
class ExpressionFacts:
    per_row_calls: tuple[str, ...]
    reads_user_metadata: bool
    always_true: bool


@cache
def analyse(expression: str | None) -> ExpressionFacts:
    if expression is None:
        return ExpressionFacts((), False, False)
    [raw] = parse_sql(f"select {expression}")
    assert isinstance(raw.stmt, ast.SelectStmt) and raw.stmt.targetList
    target = raw.stmt.targetList[0].val
    per_row: list[str] = []
    user_metadata = False
    for node, in_subquery in walk(target):
        if isinstance(node, ast.FuncCall):
            name = tuple(dotted(node.funcname))
            if name in PER_STATEMENT_FUNCTIONS and not in_subquery:
                per_row.append(".".join(name) + "()")
        elif isinstance(node, ast.String) and node.sval in ("user_metadata", "raw_user_meta_data"):
            # a JSON key ('user_metadata') or a column name (ColumnRef fields are String nodes)
            user_metadata = True
    always_true = isinstance(target, ast.A_Const) and isinstance(target.val, ast.Boolean) and bool(target.val.boolval)
    return ExpressionFacts(tuple(per_row), user_metadata, always_true)
