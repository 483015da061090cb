"""Read whose rows a policy admits from its expression, as Postgres stores it (``pg_get_expr``).

Four shapes are recognised, alone or among the terms of an AND/OR:

- ``true``: every row (an "authenticated may read all" or public policy);
- ``user_id = auth.uid()`` (also ``(select auth.uid())``): rows owned by the signed-in user;
- ``team_id = (auth.jwt() -> 'app_metadata' ->> 'team_id')::uuid``: rows of the tenant a JWT claim names;
- ``team_id in (select team_id from teams.members where user_id = auth.uid())`` or the same as ``exists``:
  rows of the tenants the user is a member of.

Anything else (a helper function, a join through two tables) is reported as not inferred, for a person.
"""

from __future__ import annotations

from dataclasses import dataclass

from pglast import ast, enums, parse_sql

from healstack.sqltree import dotted, relname
from healstack.verify.policy_expr import analyse


@dataclass(frozen=True)
class Ownership:
    kind: str  # "all", "owner", "claim" or "member"
    column: str | None = None
    claim: str | None = None
    member_table: str | None = None
    member_tenant: str | None = None
    member_user: str | None = None


def _strip(node: object) -> object:
    """The expression under casts and a one-value sub-select: ``(select auth.uid())::text`` -> ``auth.uid()``."""
    while True:
        if isinstance(node, ast.TypeCast):
            node = node.arg
        elif isinstance(node, ast.SubLink) and node.subLinkType == enums.SubLinkType.EXPR_SUBLINK and \
                isinstance(node.subselect, ast.SelectStmt) and not node.subselect.fromClause and \
                len(targets := node.subselect.targetList or ()) == 1:
            node = targets[0].val
        else:
            return node


def _column(node: object) -> list[str] | None:
    node = _strip(node)
    if isinstance(node, ast.ColumnRef) and node.fields and all(isinstance(f, ast.String) for f in node.fields):
        return [str(f.sval) for f in node.fields]
    return None


def _is_uid(node: object) -> bool:
    node = _strip(node)
    return isinstance(node, ast.FuncCall) and dotted(node.funcname) in (["auth", "uid"], ["uid"])


def _claim_path(node: object) -> list[str] | None:
    """``auth.jwt() -> 'a' ->> 'b'`` (or the request.jwt.claims setting) -> ["a", "b"]."""
    node = _strip(node)
    if isinstance(node, ast.FuncCall):
        name = dotted(node.funcname)
        if name in (["auth", "jwt"], ["jwt"]):
            return []
        if name[-1] == "current_setting" and node.args and \
                getattr(getattr(_strip(node.args[0]), "val", None), "sval", "") == "request.jwt.claims":
            return []
        return None
    if isinstance(node, ast.A_Expr) and dotted(node.name) in (["->"], ["->>"]):
        base = _claim_path(node.lexpr)
        key = getattr(getattr(_strip(node.rexpr), "val", None), "sval", None)
        return None if base is None or key is None else [*base, key]
    return None


def _equal(node: ast.A_Expr) -> Ownership | None:
    for one, other in ((node.lexpr, node.rexpr), (node.rexpr, node.lexpr)):
        column = _column(one)
        if column is None:
            continue
        if _is_uid(other):
            return Ownership("owner", column[-1])
        path = _claim_path(other)
        if path:
            return Ownership("owner" if path == ["sub"] else "claim", column[-1], ".".join(path))
    return None


def _membership(select: ast.SelectStmt, outer: str | None) -> Ownership | None:
    """A sub-select over one table whose WHERE ties a column to ``auth.uid()``; ``outer`` is the tenant column
    of the policy's table when the sub-select is an IN, else found in the WHERE (an EXISTS)."""
    sources = select.fromClause or ()
    if len(sources) != 1 or not isinstance(sources[0], ast.RangeVar):
        return None
    table = sources[0]
    alias = table.alias.aliasname if table.alias else table.relname
    user = tenant = None
    for term in _terms(select.whereClause):
        if not (isinstance(term, ast.A_Expr) and dotted(term.name) == ["="]):
            continue
        left, right = _column(term.lexpr), _column(term.rexpr)
        if (left and _is_uid(term.rexpr)) or (right and _is_uid(term.lexpr)):
            user = (left or right or [""])[-1]
        elif left and right and outer is None:  # m.team_id = projects.team_id: which side is the member table's
            inner, other = (left, right) if len(left) == 2 and left[0] == alias else (right, left)
            tenant, outer = inner[-1], other[-1]
    if outer is None or user is None:
        return None
    if tenant is None:
        target = _column(select.targetList[0].val) if select.targetList else None
        tenant = target[-1] if target else None
    if tenant is None:
        return None
    return Ownership("member", outer, None, relname(table), tenant, user)


def _terms(node: object) -> list[object]:
    """The terms of an AND/OR tree (each is a way in, or a condition)."""
    if isinstance(node, ast.BoolExpr) and node.boolop != enums.BoolExprType.NOT_EXPR:
        return [t for arg in node.args or () for t in _terms(arg)]
    return [node]


def infer(expression: str | None) -> Ownership | None:
    """Whose rows the expression admits, or None when it is none of the shapes this module reads."""
    if expression is None:
        return None
    if analyse(expression).always_true:
        return Ownership("all")
    [raw] = parse_sql(f"select {expression}")
    assert isinstance(raw.stmt, ast.SelectStmt) and raw.stmt.targetList
    for term in _terms(raw.stmt.targetList[0].val):
        found: Ownership | None = None
        if isinstance(term, ast.A_Expr) and dotted(term.name) == ["="]:
            found = _equal(term)
        elif isinstance(term, ast.SubLink) and isinstance(term.subselect, ast.SelectStmt):
            if term.subLinkType == enums.SubLinkType.ANY_SUBLINK:
                column = _column(term.testexpr)
                found = _membership(term.subselect, column[-1]) if column else None
            elif term.subLinkType == enums.SubLinkType.EXISTS_SUBLINK:
                found = _membership(term.subselect, None)
        if found:
            return found
    return None
