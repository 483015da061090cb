"""Read a policy expression as Postgres parses it: per-row auth calls, user_metadata, always true."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from pglast import ast, enums, parse_sql

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
    return ExpressionFacts(tuple(per_row), user_metadata, _constant(target) is True)


def _constant(node: ast.Node) -> object:
    """The value of an expression made only of constants (``true``, ``1 = 1``, ``'a' = 'a'``, ``true or x``
    when x is constant), or None when it reads anything else or is not decided here."""
    if isinstance(node, ast.A_Const):
        value = node.val
        return (bool(value.boolval) if isinstance(value, ast.Boolean) else getattr(value, "ival", None)
                if isinstance(value, ast.Integer) else getattr(value, "sval", None))
    if isinstance(node, ast.TypeCast) and node.arg is not None:
        return _constant(node.arg)
    if (isinstance(node, ast.A_Expr) and node.kind == enums.A_Expr_Kind.AEXPR_OP
            and isinstance(node.lexpr, ast.Node) and isinstance(node.rexpr, ast.Node)):
        op = dotted(node.name)[-1]
        left, right = _constant(node.lexpr), _constant(node.rexpr)
        if left is None or right is None or op not in ("=", "<>", "!="):
            return None
        return (left == right) is (op == "=")
    if isinstance(node, ast.BoolExpr):
        values = [_constant(a) for a in node.args or ()]
        if node.boolop == enums.BoolExprType.OR_EXPR:
            return True if True in values else None
        if node.boolop == enums.BoolExprType.AND_EXPR:
            return True if all(v is True for v in values) else None
        return (not values[0]) if values and isinstance(values[0], bool) else None
    return None
