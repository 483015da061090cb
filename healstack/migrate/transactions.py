"""Where a migration's statements run: inside a transaction or not, statement by statement.

A transactional file is one transaction. A `-- healstack: no-transaction` file runs each statement on its own,
unless it opens a transaction block itself (BEGIN ... COMMIT): squawk's ban-uncommitted-transaction and
transaction-nesting say what goes wrong there, and HS008 says it here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from pglast import ast, enums

from healstack.sqltree import relname

_TS = enums.TransactionStmtKind
_OPEN = (_TS.TRANS_STMT_BEGIN, _TS.TRANS_STMT_START)
_CLOSE = (_TS.TRANS_STMT_COMMIT, _TS.TRANS_STMT_ROLLBACK, _TS.TRANS_STMT_COMMIT_PREPARED,
          _TS.TRANS_STMT_ROLLBACK_PREPARED, _TS.TRANS_STMT_PREPARE)


@dataclass
class Block:
    """The transaction a statement runs in, and what it added NOT VALID (so a VALIDATE in the same one, which
    holds the lock NOT VALID was meant to avoid, is seen)."""

    open: bool
    not_valid: set[str] = field(default_factory=set)


def blocks(nodes: Sequence[object], transactional: bool) -> Iterator[tuple[Block, list[tuple[str, str]]]]:
    """For each statement: the block it runs in, and the HS008 findings (object, message) of its transaction
    control. The file's end is judged on the last statement."""
    block = Block(open=transactional)
    for i, node in enumerate(nodes):
        problems: list[tuple[str, str]] = []
        # in a transactional file any of these is HS008 already; the state is still followed, so what runs
        # after a COMMIT is judged as running outside a transaction, which it does
        if isinstance(node, ast.TransactionStmt) and node.kind in _OPEN:
            if block.open and not transactional:
                problems.append(("BEGIN", "BEGIN inside an open transaction: the inner one is no transaction"))
            block = Block(open=True)
        elif isinstance(node, ast.TransactionStmt) and node.kind in _CLOSE:
            if not block.open and not transactional:
                problems.append(("COMMIT", "COMMIT with no transaction open"))
            block = Block(open=False)
        if i == len(nodes) - 1 and block.open and not transactional:
            problems.append(("BEGIN", "BEGIN without COMMIT: the file ends with its transaction open"))
        yield block, problems


def note_not_valid(node: object, block: Block) -> None:
    """Remember the constraints an ALTER TABLE adds NOT VALID in this block (outside one, each statement
    commits on its own, and a later VALIDATE is the safe form)."""
    if isinstance(node, ast.AlterTableStmt) and block.open:
        for cmd in node.cmds or ():
            if cmd.subtype == enums.AlterTableType.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint) \
                    and cmd.def_.skip_validation:
                block.not_valid.add(f"{relname(node.relation)}.{cmd.def_.conname}")


def not_null_checks(nodes: Sequence[object]) -> set[str]:
    """``table.column`` for each column a validated ``CHECK (column IS NOT NULL)`` covers in the file: added
    NOT VALID and then validated, or added valid (``table.*`` for a constraint an earlier file added). SET NOT
    NULL on that column then skips its scan (Postgres 12 and later); a validated check on another column does
    not make it safe."""
    checks: dict[str, str] = {}  # table.constraint -> table.column
    validated: set[str] = set()
    for node in nodes:
        if not isinstance(node, ast.AlterTableStmt):
            continue
        table = relname(node.relation)
        for cmd in node.cmds or ():
            c = cmd.def_
            if cmd.subtype == enums.AlterTableType.AT_AddConstraint and isinstance(c, ast.Constraint) and \
                    c.contype == enums.ConstrType.CONSTR_CHECK and isinstance(c.raw_expr, ast.NullTest) and \
                    c.raw_expr.nulltesttype == enums.NullTestType.IS_NOT_NULL and \
                    isinstance(c.raw_expr.arg, ast.ColumnRef):
                column = f"{table}.{getattr((c.raw_expr.arg.fields or ('?',))[-1], 'sval', '?')}"
                checks[f"{table}.{c.conname}"] = column
                if not c.skip_validation:
                    validated.add(column)
            elif cmd.subtype == enums.AlterTableType.AT_ValidateConstraint:
                # a constraint added by an earlier file: its column is not known here, so the table's count
                validated.add(checks.get(f"{table}.{cmd.name}", f"{table}.*"))
    return validated
