"""Incremental data quality: a rule declared `incremental = "<column>"` checks only the rows past the high-water
mark its last completed run reached on that column (`healstack.dq_marks`, on the target), so the nightly cost
follows the new rows, not the table. A full run (`--full`, the weekly job) checks everything and moves no mark.

What each incremental rule reads: the row-level rules scan the new rows (through an index on the mark column);
duplicates look up each new row's key in the whole table (through an index on the key, proposed when missing);
references check the new children only; freshness remembers the latest timestamp it saw. The mark column must
grow in commit order (an ingestion timestamp set by one loader, an identity): a row committed later with a
smaller value than the mark is only seen by the next full run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from healstack.dq.compile import SAMPLES, Query, Since, sample_expr
from healstack.dq.rules import Rule, TableFacts
from healstack.sqlfiles import query

FULL, INCREMENTAL = "full", "incremental"


@dataclass(frozen=True)
class Mark:
    table: str
    column: str
    mark: str | None      # the highest mark-column value checked (as text)
    latest: str | None    # freshness: the latest timestamp seen


def load_marks(conn: psycopg.Connection[Any], rules: Iterable[Rule]) -> dict[str, Mark]:
    """The marks of ``rules`` (creating healstack's table for them on first use); a rule whose mark column
    changed since its mark was taken starts again from the beginning."""
    wanted = {r.id: r.incremental for r in rules if r.incremental}
    if not wanted:
        return {}
    with conn.transaction():
        conn.execute(query("healstack.dq", "marks"))
        rows = conn.execute("select rule_id, mark_column, mark, latest from healstack.dq_marks"
                            " where rule_id = any(%s)", [list(wanted)]).fetchall()
    tables = {r.id: r.table for r in rules}
    return {rule_id: Mark(tables[rule_id], column, mark, latest) for rule_id, column, mark, latest in rows
            if wanted.get(rule_id) == column}


def save_marks(conn: psycopg.Connection[Any], reached: dict[str, Mark]) -> None:
    """Every mark a run reached, in one transaction: called once the run's results are recorded, so a run
    that stops half-way moves no mark (and the doctor's second look within a run sees the same rows)."""
    with conn.transaction():
        for rule_id, mark in reached.items():
            conn.execute("insert into healstack.dq_marks (rule_id, table_name, mark_column, mark, latest)"
                         " values (%s, %s, %s, %s, %s) on conflict (rule_id) do update set"
                         " table_name = excluded.table_name, mark_column = excluded.mark_column,"
                         " mark = excluded.mark, latest = excluded.latest, checked_at = now()",
                         [rule_id, mark.table, mark.column, mark.mark, mark.latest])


def since(rule: Rule, marks: dict[str, Mark]) -> Since:
    mark = marks.get(rule.id)
    return Since(str(rule.incremental), mark.mark if mark else None, mark.latest if mark else None)


def _id(name: str) -> sql.Identifier:
    return sql.Identifier(name)


def unique_query(rule: Rule, facts: TableFacts, start: Since, indexed: bool = True) -> Query:
    """Duplicate groups that hold a new row. With an index on the key, each new row looks for another row with
    its key through the index (a semi join the runner keeps a nested loop: the planner, not trusting how few
    rows are new, would rather hash the whole table), and only the keys found are counted; without one, every
    new key is hashed against the whole table."""
    params: list[Any] = []
    table = sql.Identifier(*rule.schema_table)
    names = list(rule.params["columns"])
    cols = sql.SQL(", ").join(_id(c) for c in names)

    def same_key(left: str, right: str) -> sql.Composable:
        return sql.SQL(" and ").join(sql.SQL("{}.{} = {}.{}").format(_id(left), _id(c), _id(right), _id(c))
                                     for c in names)

    not_null = sql.SQL(" and ").join(sql.SQL("n.{} is not null").format(_id(c)) for c in names)
    key = _id(facts.primary_key[0]) if len(facts.primary_key) == 1 else sql.SQL("ctid")
    sample = sql.SQL("jsonb_build_object({}, 'rows', n, 'first_key', first_key::text, 'last_key', last_key::text)"
                     ).format(sql.SQL(", ").join(sql.SQL("{}, {}").format(sql.Literal(c), _id(c)) for c in names))
    k_cols = sql.SQL(", ").join(sql.SQL("k.{}").format(_id(c)) for c in names)
    new_keys = start.condition(params, "n")
    if indexed:
        keys = sql.SQL("select distinct {n_cols} from {table} as n where {new} and {not_null} and exists (select"
                       " from {table} as o where {same} and o.ctid <> n.ctid)").format(
            n_cols=sql.SQL(", ").join(sql.SQL("n.{}").format(_id(c)) for c in names), table=table, new=new_keys,
            not_null=not_null, same=same_key("o", "n"))
        groups = sql.SQL("select {k_cols}, x.n, x.first_key, x.last_key from k cross join lateral (select count(*)"
                         " as n, min(o.{key}) as first_key, max(o.{key}) as last_key from {table} as o where {on})"
                         " as x where x.n > 1").format(k_cols=k_cols, key=key, table=table, on=same_key("o", "k"))
    else:
        keys = sql.SQL("select distinct {cols} from {table} as n where {new} and {not_null}").format(
            cols=cols, table=table, new=new_keys, not_null=not_null)
        groups = sql.SQL("select {k_cols}, count(*) as n, min(o.{key}) as first_key, max(o.{key}) as last_key"
                         " from k join {table} as o on {on} group by {k_cols} having count(*) > 1"
                         ).format(k_cols=k_cols, key=key, table=table, on=same_key("o", "k"))
    new_rows = start.condition(params, "n")
    statement = sql.SQL(
        "with k as materialized ({keys}), g as ({groups})"
        " select coalesce(sum(n - 1), 0) as violations,"
        " (select count(*) from {table} as n where {new_rows} and {not_null}) as rows_tested,"
        " (array_agg({sample}))[1:{limit}] as samples,"
        " jsonb_build_object('duplicate_groups', count(*), 'excess_rows', coalesce(sum(n - 1), 0),"
        " 'rows_involved', coalesce(sum(n), 0)) as details,"
        " (select max(n.{mark})::text from {table} as n where {new_mark}) as mark from g"
    ).format(keys=keys, groups=groups, table=table, new_rows=new_rows, not_null=not_null, sample=sample,
             limit=sql.Literal(SAMPLES), mark=_id(start.column), new_mark=start.condition(params, "n"))
    return statement, params


def referential_query(rule: Rule, facts: TableFacts, start: Since) -> Query:
    """New children whose parent is missing, each looked up in the parent table."""
    params: list[Any] = []
    p = rule.params
    schema, _, name = p["to"].rpartition(".")
    parent = sql.Identifier(schema or "public", name)
    missing = sql.SQL("c.{col} is not null and not exists (select from {parent} as p where p.{to_col} = c.{col})"
                      ).format(col=_id(p["column"]), parent=parent, to_col=_id(p["to_column"]))
    statement = sql.SQL(
        "select count(*) filter (where {missing}) as violations, count(*) as rows_tested,"
        " (array_agg({sample}) filter (where {missing}))[1:{n}] as samples, '{{}}'::jsonb as details,"
        " max(c.{mark})::text as mark from {child} as c where {new}"
    ).format(missing=missing, sample=sample_expr(facts, p["column"], "c"), n=sql.Literal(SAMPLES),
             mark=_id(start.column), child=sql.Identifier(*rule.schema_table), new=start.condition(params, "c"))
    return statement, params


def missing_index(conn: psycopg.Connection[Any], rule: Rule) -> str | None:
    """The index an incremental duplicate search needs and the table lacks, as the statement to create it."""
    columns = list(rule.params["columns"])
    row = conn.execute(
        "select exists (select from pg_index i join pg_attribute a on a.attrelid = i.indrelid"
        " and a.attnum = i.indkey[0] where i.indrelid = to_regclass(%s) and a.attname = any(%s))",
        [sql.Identifier(*rule.schema_table).as_string(conn), columns]).fetchone()
    if row and row[0]:
        return None
    return sql.SQL("create index concurrently on {} ({})").format(
        sql.Identifier(*rule.schema_table), sql.SQL(", ").join(_id(c) for c in columns)).as_string(conn)
