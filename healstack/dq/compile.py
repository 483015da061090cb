"""Compile rules to SQL: the row-level rules of a table into one aggregate scan (FILTER clauses), the
others into one query each. Identifiers through psycopg.sql, values as parameters.

Every query returns the same shape per rule: violations, rows tested, up to 20 sample rows keyed by
the primary key, and details (jsonb).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from psycopg import sql

from healstack.dq.rules import Rule, RuleType, TableFacts

SAMPLES = 20
Query = tuple[sql.Composed, list[Any]]


@dataclass(frozen=True)
class Since:
    """An incremental run's range: rows whose ``column`` is past ``mark`` (all rows when there is no mark yet).
    ``latest`` carries what freshness saw last time, for a run whose new rows are all older or absent."""

    column: str
    mark: str | None = None
    latest: str | None = None

    def condition(self, params: list[Any], alias: str = "") -> sql.Composable:
        if self.mark is None:
            return sql.SQL("true")
        params.append(self.mark)
        prefix = sql.SQL(alias + ".") if alias else sql.SQL("")
        return sql.SQL("{}{} > %s").format(prefix, _id(self.column))


def _id(name: str) -> sql.Identifier:
    return sql.Identifier(name)


def _table(rule: Rule) -> sql.Identifier:
    return sql.Identifier(*rule.schema_table)


def sample_expr(facts: TableFacts, column: str | None, alias: str = "", extra: tuple[str, ...] = ()
                ) -> sql.Composable:
    """jsonb of the row's primary key (and the offending column, and any ``extra`` columns) for a sample."""
    prefix = sql.SQL(alias + ".") if alias else sql.SQL("")
    keys = list(dict.fromkeys([*facts.primary_key, *extra, *([column] if column else [])]))
    parts = [sql.SQL("{}, {}{}").format(sql.Literal(k), prefix, _id(k)) for k in keys]
    return sql.SQL("jsonb_build_object({})").format(sql.SQL(", ").join(parts))


def _now_plus(seconds: float, params: list[Any]) -> sql.Composable:
    """now() shifted by a parameter, as a one-row subquery: Postgres computes it once (an InitPlan)
    instead of once per row."""
    params.append(float(seconds))
    return sql.SQL("(select now() + make_interval(secs => %s))")


def _window(rule: Rule, params: list[Any]) -> sql.Composable:
    if rule.window_column is None:
        return sql.SQL("true")
    return sql.SQL("{} >= {}").format(_id(rule.window_column), _now_plus(-float(rule.window_days or 0) * 86400,
                                                                         params))


def violation(rule: Rule, params: list[Any]) -> sql.Composable:
    """The condition a violating row meets, for the row-level rule types."""
    p, column = rule.params, _id(rule.params.get("column", ""))
    if rule.type == RuleType.NOT_NULL:
        return sql.SQL("{} is null").format(column)
    if rule.type == RuleType.ACCEPTED_VALUES:
        params.append([str(v) for v in p["values"]])
        return sql.SQL("{} is not null and {}::text <> all(%s::text[])").format(column, column)
    if rule.type == RuleType.RANGE:
        bounds = []
        for key, op in (("min", "<"), ("max", ">")):
            if key in p:
                params.append(p[key])
                bounds.append(sql.SQL("{} {} %s").format(column, sql.SQL(op)))
        return sql.SQL("({})").format(sql.SQL(" or ").join(bounds) if bounds else sql.SQL("false"))
    if rule.type == RuleType.REGEX:
        params.append(p["pattern"])
        return sql.SQL("{} is not null and {}::text !~ %s").format(column, column)
    if rule.type == RuleType.FUTURE_DATES:
        return sql.SQL("{} > {}").format(column, _now_plus(float(p.get("tolerance_minutes", 5)) * 60, params))
    raise ValueError(f"{rule.type} is not a row-level violation")


def _where(rule: Rule, condition: Callable[[list[Any]], sql.Composable], params: list[Any]) -> sql.Composable:
    """The condition within the rule's window, if it has one; built in text order so that the
    parameters line up with their placeholders."""
    if rule.window_column is None:
        return condition(params)
    window = _window(rule, params)
    return sql.SQL("{} and {}").format(window, condition(params))


def _not_after_now(column: sql.Identifier) -> Callable[[list[Any]], sql.Composable]:
    def condition(_params: list[Any]) -> sql.Composable:
        return sql.SQL("{} <= now()").format(column)
    return condition


def _latest(rule: Rule, since: Since | None, params: list[Any]) -> sql.Composable:
    """The latest timestamp not in the future (and not older than what an earlier incremental run saw)."""
    column = _id(rule.params["column"])
    latest = sql.SQL("max({}) filter (where {})").format(column, _where(rule, _not_after_now(column), params))
    if since is not None and since.latest is not None:
        params.append(since.latest)
        latest = sql.SQL("greatest({}, %s::timestamptz)").format(latest)
    return latest


def row_scan(rules: list[Rule], facts: TableFacts, since: Since | None = None) -> Query:
    """One pass over the table (or, with ``since``, over its rows past the mark) for all its row-level rules;
    columns: total, then per rule i t{i} (rows tested, only when a window narrows them), v{i} (violations),
    c{i} (their first ctids) and s{i} (samples), or f{i} (freshness age in hours, counting the latest
    timestamp an earlier incremental run saw) and l{i} (the latest timestamp); with ``since``, mark (the
    new high-water mark).

    The scan keeps only the ctids of violating rows; the up to 20 samples are then read back by ctid in
    the same statement (a TID scan, same snapshot), so no JSON is built for rows that are not shown."""
    params: list[Any] = []
    parts: list[sql.Composable] = [sql.SQL("count(*) as total")]
    samples: list[sql.Composable] = []
    for i, rule in enumerate(rules):
        if rule.window_column is not None:
            parts.append(sql.SQL("count(*) filter (where {}) as {}").format(_window(rule, params), _id(f"t{i}")))
        if rule.type == RuleType.ROW_COUNT:
            continue
        if rule.type == RuleType.FRESHNESS:
            parts.append(sql.SQL("extract(epoch from now() - {}) / 3600 as {}").format(
                _latest(rule, since, params), _id(f"f{i}")))
            if since is not None:  # the same aggregate again: Postgres computes it once
                parts.append(sql.SQL("{}::text as {}").format(_latest(rule, since, params), _id(f"l{i}")))
            continue
        parts.append(sql.SQL("count(*) filter (where {}) as {}").format(
            _where(rule, partial(violation, rule), params), _id(f"v{i}")))
        parts.append(sql.SQL("(array_agg(ctid) filter (where {}))[1:{}] as {}").format(
            _where(rule, partial(violation, rule), params), sql.Literal(SAMPLES), _id(f"c{i}")))
        samples.append(sql.SQL(", (select array_agg({} order by ctid) from {} where ctid = any(scan.{})) as {}").format(
            sample_expr(facts, rule.params.get("column")), _table(rule), _id(f"c{i}"), _id(f"s{i}")))
    where: sql.Composable = sql.SQL("true")
    if since is not None:
        parts.append(sql.SQL("max({})::text as mark").format(_id(since.column)))
        where = since.condition(params)
    query = sql.SQL("select scan.*{} from (select {} from {} where {}) as scan").format(
        sql.Composed(samples), sql.SQL(", ").join(parts), _table(rules[0]), where)
    return query, params


def _group_key(column: str, facts: TableFacts) -> sql.Composable:
    """A grouping column; text under a deterministic collation is compared as bytes ("C"), which groups
    exactly the same rows without the locale's slow comparison."""
    if column in facts.bytewise_equal:
        return sql.SQL('{} collate "C"').format(_id(column))
    return _id(column)


def unique_query(rule: Rule, facts: TableFacts) -> Query:
    """Duplicate groups in one scan: groups, excess rows, rows involved, and sample groups.

    The runner has Postgres group by sorting (a hash table of millions of distinct keys is several times
    slower than a sort); fixed-width columns lead the key so most comparisons end at the first column.
    Each group carries only its key, a count and two primary keys; JSON is built for duplicate groups alone."""
    params: list[Any] = []
    names = sorted(rule.params["columns"], key=lambda c: c not in facts.fixed_width)
    columns = [_group_key(c, facts) for c in names]
    # a group's first and last rows: by a one-column primary key, else by position (min/max of a composite
    # key would need a row aggregate Postgres lacks)
    key = _id(facts.primary_key[0]) if len(facts.primary_key) == 1 else sql.SQL("ctid")
    # keys become text for duplicate groups only: converting 5,000,000 of them cost the benchmark a second
    sample = sql.SQL("jsonb_build_object({}, 'rows', n, 'first_key', first_key::text,"
                     " 'last_key', last_key::text)").format(
        sql.SQL(", ").join(sql.SQL("{}, {}").format(sql.Literal(c), _id(f"k{i}")) for i, c in enumerate(names)))
    not_null = sql.SQL(" and ").join(sql.SQL("{} is not null").format(_id(c)) for c in names)
    group_window = _window(rule, params)   # in text order, so the parameters line up
    tested_window = _window(rule, params)
    # Only duplicate groups leave the grouping (HAVING): aggregating 5,000,000 singleton groups again cost
    # the benchmark about 0.4 s; the rows tested are a count(*) of their own (a parallel scan, an InitPlan).
    query = sql.SQL(
        "with g as (select {keys}, count(*) as n, min({key}) as first_key, max({key}) as last_key"
        " from {table} where {group_window} and {not_null} group by {cols} having count(*) > 1)"
        " select coalesce(sum(n - 1), 0) as violations,"
        " (select count(*) from {table} where {tested_window} and {not_null}) as rows_tested,"
        " (array_agg({sample}))[1:{limit}] as samples,"
        " jsonb_build_object('duplicate_groups', count(*), 'excess_rows', coalesce(sum(n - 1), 0),"
        " 'rows_involved', coalesce(sum(n), 0)) as details from g"
    ).format(keys=sql.SQL(", ").join(sql.SQL("{} as {}").format(c, _id(f"k{i}")) for i, c in enumerate(columns)),
             cols=sql.SQL(", ").join(columns), key=key, table=_table(rule), group_window=group_window,
             tested_window=tested_window, not_null=not_null, sample=sample, limit=sql.Literal(SAMPLES))
    return query, params


def referential_query(rule: Rule, facts: TableFacts) -> Query:
    params: list[Any] = []
    p = rule.params
    schema, _, name = p["to"].rpartition(".")
    parent = sql.Identifier(schema or "public", name)
    window = _window(rule, params)
    query = sql.SQL(
        "select count(*) filter (where c.{col} is not null and p.k is null) as violations, count(*) as rows_tested,"
        " (array_agg({sample}) filter (where c.{col} is not null and p.k is null))[1:{n}] as samples,"
        " '{{}}'::jsonb as details"
        " from {child} as c left join (select distinct {to_col} as k from {parent}) as p on p.k = c.{col}"
        " where {window}"
    ).format(col=_id(p["column"]), sample=sample_expr(facts, p["column"], "c"), n=sql.Literal(SAMPLES),
             child=_table(rule), to_col=_id(p["to_column"]), parent=parent, window=window)
    return query, params


def consistency_query(rule: Rule, facts: TableFacts) -> Query:
    """Rows whose value differs from the sum of the matching rows of another table by more than tolerance."""
    p = rule.params
    params: list[Any] = []
    schema, _, name = p["to"].rpartition(".")
    on = sql.SQL(" and ").join(sql.SQL("l.{} = r.{}").format(_id(a), _id(f"k{i}"))
                               for i, a in enumerate(p["key"]))
    keys = sql.SQL(", ").join(sql.SQL("{} as {}").format(_id(b), _id(f"k{i}")) for i, b in enumerate(p["to_key"]))
    group = sql.SQL(", ").join(_id(b) for b in p["to_key"])
    filters: list[sql.Composable] = [_window(rule, params)]
    for column, value in p.get("filter", {}).items():
        params.append(value)
        filters.append(sql.SQL("l.{} = %s").format(_id(column)))
    params.append(float(p.get("tolerance", 0)))
    differs = sql.SQL("abs(coalesce(l.{}, 0) - coalesce(r.v, 0)) > %s").format(_id(p["column"]))
    query = sql.SQL(
        "select count(*) filter (where {differs}) as violations, count(*) as rows_tested,"
        " (array_agg({sample} || jsonb_build_object('expected', coalesce(r.v, 0))) filter (where {differs}))[1:{n}]"
        " as samples, '{{}}'::jsonb as details"
        " from {left} as l left join (select {keys}, sum({to_col}) as v from {right} group by {group}) as r on {on}"
        " where {filters}"
    ).format(differs=differs, sample=sample_expr(facts, p["column"], "l", tuple(p["key"])), n=sql.Literal(SAMPLES),
             left=_table(rule), keys=keys, to_col=_id(p["to_column"]), right=sql.Identifier(schema or "public", name),
             group=group, on=on, filters=sql.SQL(" and ").join(filters))
    # the tolerance placeholder sits in `differs`, which appears twice before the filters
    tolerance = params.pop()
    return query, [tolerance, tolerance, *params]


def anomaly_query(rule: Rule) -> Query:
    """Rows on the latest complete day against the mean of the days before it."""
    days = int(rule.params.get("days", 14))
    column = _id(rule.params["column"])
    query = sql.SQL(
        "with daily as (select date_trunc('day', {col})::date as d, count(*) as n from {table}"
        " where {col} >= current_date - %s and {col} < current_date group by 1)"
        " select coalesce((select n from daily where d = current_date - 1), 0) as latest,"
        " (select avg(n) from daily where d < current_date - 1) as mean,"
        " (select count(*) from daily where d < current_date - 1) as history_days"
    ).format(col=column, table=_table(rule))
    return query, [days + 1]


def custom_query(rule: Rule) -> Query:
    return sql.SQL(
        "select count(*) as violations, null::bigint as rows_tested,"
        " (array_agg(to_jsonb(v)))[1:{}] as samples, '{{}}'::jsonb as details from ({}) as v"
    ).format(sql.Literal(SAMPLES), sql.SQL(rule.params["sql"])), []
