"""The locking and client-breaking hazards squawk finds in a migration, read from the parse tree, one rule per
function. Each names the anti-pattern, its safe form and the squawk rule it follows. A table created earlier in
the same file holds no rows and has no clients yet, so none of these apply to it.
"""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast, enums

from healstack.sqltree import relname

Hazard = tuple[str, str, str]  # rule id, object, message
_AT = enums.AlterTableType
_CT = enums.ConstrType


def constraint_not_valid(constraint: ast.Constraint, table: str) -> Iterator[Hazard]:
    """HS009 (squawk: constraint-missing-not-valid, adding-foreign-key-constraint). Anti-pattern:
    ``add constraint c check (x > 0)`` or ``... foreign key ... references p`` on a table with rows: every row
    is checked under a lock that blocks writes. Safe: add it ``not valid``, then ``validate constraint c``."""
    if constraint.contype in (_CT.CONSTR_CHECK, _CT.CONSTR_FOREIGN) and not constraint.skip_validation:
        kind = "CHECK" if constraint.contype == _CT.CONSTR_CHECK else "FOREIGN KEY"
        yield "HS009", f"{table}.{constraint.conname or kind.lower()}", \
            f"ADD {kind} without NOT VALID checks every row under a lock that blocks writes"


def unique_without_index(constraint: ast.Constraint, table: str) -> Iterator[Hazard]:
    """HS010 (squawk: disallowed-unique-constraint, adding-primary-key-constraint). Anti-pattern:
    ``add constraint u unique (a)`` or ``add primary key (id)``: the index is built under a lock that blocks
    writes. Safe: ``create unique index concurrently`` (a no-transaction file), then ``add constraint u unique
    using index i``."""
    if constraint.contype in (_CT.CONSTR_UNIQUE, _CT.CONSTR_PRIMARY) and not constraint.indexname:
        kind = "UNIQUE" if constraint.contype == _CT.CONSTR_UNIQUE else "PRIMARY KEY"
        yield "HS010", f"{table}.{constraint.conname or kind.lower()}", \
            f"ADD {kind} builds its index under a lock that blocks writes"


def new_column(column: ast.ColumnDef, table: str) -> Iterator[Hazard]:
    """HS011 (squawk: adding-required-field, adding-not-nullable-field): ``add column c int not null`` with no
    default fails on a table with rows (or needs a rewrite). Safe: add it with a default, or nullable, backfill,
    then set not null after a validated check.
    HS012 (squawk: adding-field-with-default, for generated columns): ``add column g ... generated always as
    (...) stored`` rewrites the table under an exclusive lock. Safe: a plain column filled by a trigger and a
    batched backfill, or a view."""
    constraints = column.constraints or ()
    types = {c.contype for c in constraints}
    name = f"{table}.{column.colname}"
    if _CT.CONSTR_NOTNULL in types and not types & {_CT.CONSTR_DEFAULT, _CT.CONSTR_IDENTITY, _CT.CONSTR_GENERATED}:
        yield "HS011", name, "ADD COLUMN NOT NULL without a default fails on a table with rows"
    if any(c.contype == _CT.CONSTR_GENERATED and getattr(c, "generated_kind", "s") == "s" for c in constraints):
        yield "HS012", name, "ADD COLUMN GENERATED ... STORED rewrites the table under an exclusive lock"
    for constraint in constraints:  # ADD COLUMN c int REFERENCES p / UNIQUE / PRIMARY KEY: the same as ADD CONSTRAINT
        yield from constraint_not_valid(constraint, name)
        yield from unique_without_index(constraint, name)


def validate_in_block(node: ast.AlterTableStmt, not_valid: set[str]) -> Iterator[Hazard]:
    """HS009 (squawk: constraint-missing-not-valid). Anti-pattern: ``add constraint c ... not valid`` and
    ``validate constraint c`` in one transaction: the validation runs under the lock the ADD took, which blocks
    writes, so NOT VALID bought nothing. Safe: validate in a later transaction (the next migration file)."""
    table = relname(node.relation)
    for cmd in node.cmds or ():
        if cmd.subtype == _AT.AT_ValidateConstraint and f"{table}.{cmd.name}" in not_valid:
            yield "HS009", f"{table}.{cmd.name}", \
                "VALIDATE in the transaction that added the constraint NOT VALID keeps its write-blocking lock"


def alter_table(node: ast.AlterTableStmt, existing: bool) -> Iterator[Hazard]:
    """The hazards of one ALTER TABLE on an existing table (see each rule's function), and HS013 for DETACH
    PARTITION without CONCURRENTLY and HS015 for DROP NOT NULL (squawk: ban-drop-not-null: a client that
    relies on the column being set breaks)."""
    if not existing:
        return
    table = relname(node.relation)
    for cmd in node.cmds or ():
        if cmd.subtype == _AT.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint):
            yield from constraint_not_valid(cmd.def_, table)
            yield from unique_without_index(cmd.def_, table)
        elif cmd.subtype == _AT.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
            yield from new_column(cmd.def_, table)
        elif cmd.subtype == _AT.AT_DetachPartition and not getattr(cmd.def_, "concurrent", False):
            yield "HS013", table, "DETACH PARTITION without CONCURRENTLY blocks reads and writes of the table"
        elif cmd.subtype == _AT.AT_DropNotNull:
            yield "HS015", f"{table}.{cmd.name}", "DROP NOT NULL lets NULLs reach clients that rely on a value"


def statement(node: ast.Node, new_tables: set[str]) -> Iterator[Hazard]:
    """HS013 (squawk: require-concurrent-index-deletion): DROP INDEX or REINDEX without CONCURRENTLY blocks
    the table; safe: ``drop index concurrently`` / ``reindex index concurrently`` in a no-transaction file.
    HS014 (squawk: renaming-table, renaming-column): a rename breaks every client still using the old name;
    safe: add the new name (a column, or a view), move clients, retire the old one later.
    HS001 (squawk: ban-drop-database): DROP DATABASE destroys everything."""
    if isinstance(node, ast.DropStmt) and node.removeType == enums.ObjectType.OBJECT_INDEX and not node.concurrent:
        yield "HS013", ", ".join(".".join(p.sval for p in obj) for obj in node.objects or ()), \
            "DROP INDEX without CONCURRENTLY blocks the table"
    elif isinstance(node, ast.ReindexStmt) and node.kind != enums.ReindexObjectType.REINDEX_OBJECT_SYSTEM and not any(
            getattr(p, "defname", "") == "concurrently" for p in node.params or ()):  # SYSTEM has no CONCURRENTLY
        yield "HS013", relname(node.relation) if node.relation else str(node.name), \
            "REINDEX without CONCURRENTLY blocks writes (and reads through the index)"
    elif isinstance(node, ast.RenameStmt) and node.renameType in (
            enums.ObjectType.OBJECT_TABLE, enums.ObjectType.OBJECT_COLUMN) and node.relation is not None \
            and relname(node.relation) not in new_tables:
        what = "table" if node.renameType == enums.ObjectType.OBJECT_TABLE else f"column {node.subname}"
        yield "HS014", relname(node.relation), f"renaming {what} breaks clients still using the old name"
    elif isinstance(node, ast.DropdbStmt):
        yield "HS001", str(node.dbname), "DROP DATABASE destroys data"
