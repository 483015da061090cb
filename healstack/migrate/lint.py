"""Migration safety lint: destructive or locking DDL is refused unless a statement says why it is fine.

Statements are read from pglast's parse tree (Postgres's own parser), never matched as text.
A statement opts out of a rule with a comment just above it or inside it:

    -- healstack: allow HS001 the table was never used in production (TICKET-12)

A project sets each rule's level (error, warn, off) with `lint_severity`; HS006 (idempotent files) is a warning
unless the project makes it its house rule, as this stack does.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterator, Mapping
from functools import cache
from importlib.resources import files

from pglast import ast, enums

from healstack import registry
from healstack.migrate import do_blocks, hazards
from healstack.migrate.files import Migration
from healstack.migrate.statements import Statement, split
from healstack.migrate.transactions import Block, blocks, not_null_checks, note_not_valid
from healstack.results import CheckResult, Outcome, Severity
from healstack.sqltree import dotted, relname, walk

_ALLOW = re.compile(r"--[ \t]*healstack:[ \t]*allow[ \t]+(?P<rules>HS\d{3}(?:[ \t]*,[ \t]*HS\d{3})*)"
                    r"[ \t]+(?P<reason>\S.*)")
# An allow comment cannot lift these: a file's all-or-nothing apply is not a trade-off a migration can make.
UNWAIVABLE = frozenset({"HS008"})
_SERIAL = {"serial", "serial4", "bigserial", "serial8", "smallserial", "serial2"}
_AT = enums.AlterTableType


def _allowed(stmt: Statement) -> set[str]:
    allowed: set[str] = set()
    for match in _ALLOW.finditer(stmt.leading_comments + "\n" + stmt.sql):
        allowed.update(r.strip() for r in match["rules"].split(","))
    return allowed


def _drop_names(node: ast.DropStmt) -> str:
    names = []
    for obj in node.objects or ():
        parts = obj if isinstance(obj, tuple) else (obj,)
        names.append(".".join(getattr(p, "sval", "?") for p in parts))
    return ", ".join(names)


def _findings(stmt: Statement, new_tables: set[str], validated: set[str], migration: Migration,
              replaced: frozenset[str] = frozenset(), block: Block | None = None) -> Iterator[tuple[str, str, str]]:
    """(rule id, object, message) for every unsafe thing in one statement."""
    node = stmt.node
    block = block or Block(open=migration.transactional)
    destructive_drops = (enums.ObjectType.OBJECT_TABLE, enums.ObjectType.OBJECT_SCHEMA)
    if isinstance(node, ast.DropStmt) and node.removeType in destructive_drops:
        yield "HS001", _drop_names(node), "DROP destroys data"
    elif isinstance(node, ast.TruncateStmt):
        yield "HS001", ", ".join(relname(r) for r in node.relations or ()), "TRUNCATE destroys data"
    elif isinstance(node, ast.IndexStmt):
        table = relname(node.relation)
        if not node.if_not_exists and node.idxname:  # an unnamed index cannot take IF NOT EXISTS
            yield "HS006", node.idxname, "CREATE INDEX without IF NOT EXISTS"
        if node.concurrent and block.open:
            yield "HS007", node.idxname or table, "CREATE INDEX CONCURRENTLY cannot run inside a transaction"
        if not node.concurrent and table not in new_tables:
            yield "HS003", node.idxname or table, f"CREATE INDEX on existing table {table} blocks writes"
    elif isinstance(node, ast.TransactionStmt) and migration.transactional:
        yield "HS008", migration.label, f"{stmt.summary.split(' ')[0].upper()} inside a transactional file"
    elif isinstance(node, ast.AlterTableStmt):
        yield from _alter_table_findings(node, new_tables, validated, replaced)
        yield from hazards.alter_table(node, relname(node.relation) not in new_tables)
        yield from hazards.validate_in_block(node, block.not_valid)
    elif isinstance(node, ast.CreateStmt | ast.CreateTableAsStmt | ast.CreateSeqStmt | ast.CreateSchemaStmt
                    | ast.CreateExtensionStmt) and not node.if_not_exists and not _temporary(node):
        yield "HS006", _object_name(node), f"{_kind(node)} without IF NOT EXISTS"
    elif isinstance(node, ast.CreateFunctionStmt | ast.ViewStmt | ast.CreateTrigStmt) and not node.replace:
        yield "HS006", _object_name(node), f"{_kind(node)} without OR REPLACE"
    elif isinstance(node, ast.CreatePolicyStmt | ast.CreateEnumStmt | ast.CompositeTypeStmt | ast.CreateRoleStmt):
        yield "HS006", _object_name(node), f"{_kind(node)} has no IF NOT EXISTS; guard it in a DO block"
    elif isinstance(node, ast.DoStmt):
        # what the block runs: its guard is what makes it idempotent, so HS006 does not apply inside
        for inner in do_blocks.statements(node):
            inside = Statement(stmt.sql, stmt.line, inner, stmt.leading_comments)
            yield from (f for f in _findings(inside, new_tables, validated, migration, replaced, block)
                        if f[0] != "HS006")
            note_not_valid(inner, block)
    elif isinstance(node, ast.Node):
        yield from hazards.statement(node, new_tables)


def _temporary(node: ast.Node) -> bool:
    """A temporary table lives for its session (or transaction): creating it again is no conflict."""
    relation = getattr(node, "relation", None)
    return isinstance(relation, ast.RangeVar) and relation.relpersistence == "t"


def _alter_table_findings(node: ast.AlterTableStmt, new_tables: set[str], validated: set[str],
                          replaced: frozenset[str] = frozenset()) -> Iterator[tuple[str, str, str]]:
    table = relname(node.relation)
    existing = table not in new_tables
    for cmd in node.cmds or ():
        column = f"{table}.{cmd.name}" if cmd.name else table
        if cmd.subtype == _AT.AT_DropColumn:
            yield "HS001", column, "DROP COLUMN destroys data"
        elif cmd.subtype == _AT.AT_AlterColumnType and existing:
            yield "HS002", column, "ALTER COLUMN TYPE rewrites the table under an exclusive lock"
        elif cmd.subtype == _AT.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
            column = f"{table}.{cmd.def_.colname}"
            if not cmd.missing_ok:
                yield "HS006", column, "ADD COLUMN without IF NOT EXISTS"
            if existing and _volatile_default(cmd.def_):
                yield "HS004", column, "ADD COLUMN with a volatile default rewrites the table"
        elif cmd.subtype == _AT.AT_SetNotNull and existing and not {column, f"{table}.*"} & validated:
            yield "HS005", column, "SET NOT NULL scans the table under an exclusive lock"
        elif cmd.subtype == _AT.AT_AddConstraint and existing and \
                f"{table}.{getattr(cmd.def_, 'conname', None)}" not in replaced:
            yield "HS006", table, "ADD CONSTRAINT has no IF NOT EXISTS; guard it in a DO block"


def _volatile_default(column: ast.ColumnDef) -> bool:
    type_names = {getattr(n, "sval", "") for n in ((column.typeName.names or ()) if column.typeName else ())}
    if type_names & _SERIAL:
        return True
    for constraint in column.constraints or ():
        if constraint.contype in (enums.ConstrType.CONSTR_DEFAULT, enums.ConstrType.CONSTR_IDENTITY):
            if constraint.contype == enums.ConstrType.CONSTR_IDENTITY:
                return True
            for inner, _ in walk(constraint.raw_expr):
                if isinstance(inner, ast.FuncCall) and not _non_volatile(dotted(inner.funcname)):
                    return True
    return False


@cache
def _non_volatile_names() -> frozenset[str]:
    text = files("healstack.migrate").joinpath("non_volatile_functions.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def _non_volatile(name: list[str]) -> bool:
    """Whether a default calling this function is computed once for ADD COLUMN: a built-in that is IMMUTABLE or
    STABLE in every overload (the catalog's own provolatile, listed in non_volatile_functions.txt), or
    Supabase's auth helpers. Anything else, a project's own function included, counts as volatile."""
    if len(name) == 2 and name[0] == "pg_catalog":
        return name[1] in _non_volatile_names()
    return ".".join(name) in _non_volatile_names()


def _kind(node: ast.Node) -> str:
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", type(node).__name__.removesuffix("Stmt")).upper()
    return {"VIEW": "CREATE VIEW", "CREATE TRIG": "CREATE TRIGGER"}.get(words, words)


def _object_name(node: ast.Node) -> str:
    for attr in ("relation", "view", "table", "typeName", "sequence"):
        value = getattr(node, attr, None)
        if isinstance(value, ast.RangeVar):
            return relname(value)
    for attr in ("policy_name", "schemaname", "extname", "trigname", "role"):
        value = getattr(node, attr, None)
        if isinstance(value, str):
            return value
    funcname = getattr(node, "funcname", None)
    if funcname:
        return ".".join(p.sval for p in funcname)
    return type(node).__name__


LEVELS = ("error", "warn", "off")


def level(rule_id: str, severity: Mapping[str, str]) -> str:
    """A rule's level: the project's setting (`lint_severity`), else the registry's default. HS008 stays an
    error whatever is set: a file applied by halves is never a matter of taste."""
    if rule_id in UNWAIVABLE:
        return "error"
    default = "error" if registry.spec(rule_id).severity is Severity.ERROR else "warn"
    return severity.get(rule_id, default)


def lint_migration(migration: Migration, severity: Mapping[str, str] | None = None,
                   waivers: Mapping[tuple[str, str], str] | None = None) -> list[CheckResult]:
    """One FAILED result per unsafe statement and rule (WARNED at level warn, none when off); one PASSED
    result for a clean file."""
    statements = split(migration.text, migration.label)
    nodes = [n for s in statements
             for n in ([s.node, *do_blocks.statements(s.node)] if isinstance(s.node, ast.DoStmt) else [s.node])]
    new_tables = {relname(n.relation) for n in nodes if isinstance(n, ast.CreateStmt)}
    validated = not_null_checks(nodes)
    # DROP CONSTRAINT IF EXISTS c, then ADD CONSTRAINT c: the pair runs twice as well as once
    replaced = frozenset(f"{relname(n.relation)}.{c.name}" for n in nodes
                         if isinstance(n, ast.AlterTableStmt) for c in n.cmds or ()
                         if c.subtype == _AT.AT_DropConstraint and c.missing_ok)
    results = []
    states = list(blocks([s.node for s in statements], migration.transactional))
    for stmt, (block, control) in zip(statements, states, strict=True):
        allowed = _allowed(stmt)
        found = [*_findings(stmt, new_tables, validated, migration, replaced, block),
                 *(("HS008", migration.label, message) for _, message in control)]
        note_not_valid(stmt.node, block)
        for rule_id, obj, message in found:
            rule = registry.spec(rule_id)
            at = level(rule_id, severity or {})
            if at == "off":
                continue
            where = f"{migration.label}:{stmt.line}"
            evidence = {"file": migration.label, "line": stmt.line, "statement": stmt.summary,
                        "rule": rule.name, "remediation": rule.remedy}
            waived = (waivers or {}).get((rule_id, obj))
            if rule_id in allowed and rule_id not in UNWAIVABLE:
                results.append(CheckResult(rule_id, Outcome.WARNED, obj, f"{where}: {message} (allowed)", evidence))
            elif waived and rule_id not in UNWAIVABLE:  # an applied file's statement cannot take a comment
                results.append(CheckResult(rule_id, Outcome.WARNED, obj, f"{where}: {message} (waived: {waived})",
                                           evidence))
            elif at == "warn":
                results.append(CheckResult(rule_id, Outcome.WARNED, obj, f"{where}: {message}; {rule.remedy}",
                                           evidence))
            else:
                results.append(CheckResult(rule_id, Outcome.FAILED, obj,
                                           f"{where}: {message}; {rule.remedy}", evidence))
    if not results:
        results.append(CheckResult("HS000", Outcome.PASSED, migration.label, "no unsafe statements"))
    return results


def lint_all(migrations: list[Migration], severity: Mapping[str, str] | None = None,
             applied: Collection[str] = (), waivers: Mapping[tuple[str, str], str] | None = None) -> list[CheckResult]:
    """The lint of every file. A file already applied (its version in ``applied``) is not judged again: its
    findings are reported in one passing record, for a history cannot be changed by refusing it."""
    results: list[CheckResult] = []
    for m in migrations:
        found = lint_migration(m, severity, waivers)
        unsafe = [r for r in found if r.outcome is not Outcome.PASSED]
        if m.version in applied and unsafe:
            counts = Counter(r.check_id for r in unsafe)
            results.append(CheckResult("HS000", Outcome.PASSED, m.label, "already applied, not judged again; the "
                                       "lint finds " + ", ".join(f"{k} x{n}" for k, n in sorted(counts.items())),
                                       {"file": m.label, "findings": [r.to_dict() for r in unsafe]}))
        else:
            results += found
    return results
